// Whether a parallel job may use more threads than its caller's, from what
// the last jobs measured.
//
// On a shared machine a worker thread is sometimes descheduled in the middle
// of its piece: another process, or another library's pool in this process
// (OpenBLAS's workers spin for up to ~0.1 s after each call), holds its core.
// The caller then finishes its own pieces and waits a scheduler time slice
// (milliseconds) for that one piece: the collapse measured before this
// runtime (a 784-256-26 batch-64 training step 22x slower when called
// alternately with NumPy's matmul, 6x slower with one core busy).
//
// The pool (thread_pool.cpp) reports, for each job that had workers, how long
// the caller waited for the workers' last pieces, the caller's own time per
// piece, and the longest a worker's piece took. A job is contended when the
// caller waited more than kMinWait and a worker's piece took more than
// kSlowPiece times the caller's pieces plus kMinWait: the machine took a
// worker's core in the middle of its piece. (A wait alone is not enough:
// pieces of unequal size, such as a step's small layers beside the gather of
// the next minibatch, make the caller wait with nobody descheduled. The
// workers' CPU time would tell descheduling directly, but reading it is a
// system call per piece, 10-30% of a batch-1 training step.) When
// kContendedOfRecent of the last kRecent jobs with workers were contended,
// the next jobs run on the caller alone for a back-off time, which doubles
// each time it is renewed (kFirstBackoff .. kMaxBackoff) and halves with every
// clean job. A job on one thread cannot wait for anybody, so one thread is the
// safe fallback while the machine is busy; the first job after the back-off
// probes again. (A single contended job is not enough either: a VM's vCPU is
// sometimes descheduled by the host for a few ms even on a quiet guest.)
//
// Results never depend on this: every kernel gives the same bits on any
// thread count (tests/test_threads.py).
#pragma once

#include <atomic>
#include <cstdint>

namespace pyfastnn {

class ContentionGate {
 public:
  // A worker descheduled inside its piece costs the caller a scheduler time
  // slice (0.75-4 ms on Linux CFS); a worker that ran through costs it a few
  // us. Tail waits measured on the 2-vCPU VM, quiet, 784-256-26 loss_and_grad
  // at batch 64: median 0.1-1 us, 99th percentile 14-16 us; the rare ones
  // above 50 us (host noise) are what kContendedOfRecent filters.
  static constexpr int64_t kMinWaitNs = 50'000;
  static constexpr double kSlowPiece = 2.0;
  static constexpr int kRecent = 8;
  static constexpr int kContendedOfRecent = 2;
  static constexpr int64_t kFirstBackoffNs = 4'000'000;
  static constexpr int64_t kMaxBackoffNs = 512'000'000;

  // Whether a job starting at now_ns may use worker threads.
  bool allow_team(int64_t now_ns) const {
    return now_ns >= until_ns_.load(std::memory_order_relaxed);
  }
  // A job with workers finished at now_ns: the caller waited wait_ns for the
  // workers' last pieces; its own pieces took own_piece_ns each on average, the
  // slowest worker piece worker_piece_ns.
  void record(int64_t now_ns, int64_t wait_ns, int64_t own_piece_ns, int64_t worker_piece_ns);
  static bool contended(int64_t wait_ns, int64_t own_piece_ns, int64_t worker_piece_ns) {
    return wait_ns > kMinWaitNs &&
           double(worker_piece_ns) > kSlowPiece * double(own_piece_ns) + double(kMinWaitNs);
  }
  // The caller's side, sampled every kCallerSampleEvery jobs with workers:
  // the job's wall time and the caller's CPU time in it. A caller that was
  // off its CPU for more than a quarter of the job (plus kMinWaitNs) was
  // displaced: another thread held its core. After kContendedOfRecent of
  // the last kRecent samples were, workers stop competing for a core for
  // kPoliteNs (thread_pool.cpp, wait_for_job): a worker that competes beside
  // another process makes the scheduler put that process on the caller's CPU.
  static constexpr int kCallerSampleEvery = 4;
  static constexpr int64_t kPoliteNs = 4'000'000'000;
  void record_caller(int64_t now_ns, int64_t wall_ns, int64_t cpu_ns);
  bool caller_displaced_recently(int64_t now_ns) const {
    return now_ns - displaced_at_ns_.load(std::memory_order_relaxed) < kPoliteNs;
  }
  int64_t displaced_jobs() const { return displaced_jobs_.load(std::memory_order_relaxed); }
  int64_t backoff_ns() const { return backoff_ns_.load(std::memory_order_relaxed); }
  int64_t contended_jobs() const { return contended_jobs_.load(std::memory_order_relaxed); }
  // Jobs that asked for workers and ran on the caller alone for a back-off
  // (counted by parallel_for): the thread governor does not time a training
  // step during which that happened as a step on its thread count.
  void note_denied() { denied_jobs_.fetch_add(1, std::memory_order_relaxed); }
  int64_t denied_jobs() const { return denied_jobs_.load(std::memory_order_relaxed); }
  void reset();

 private:
  std::atomic<int64_t> until_ns_{0};
  std::atomic<int64_t> backoff_ns_{0};
  std::atomic<int64_t> contended_jobs_{0};
  std::atomic<int64_t> denied_jobs_{0};
  std::atomic<int64_t> displaced_at_ns_{INT64_MIN / 2};
  std::atomic<int64_t> displaced_jobs_{0};
  std::atomic<uint32_t> displaced_recent_{0};
  std::atomic<uint32_t> recent_{0};  // bit i: whether the i-th last job was contended
};

// The process-wide gate every parallel job consults.
ContentionGate& contention_gate();

}  // namespace pyfastnn
