// The thread pool under parallel_for (parallel.hpp).
//
// Why not OpenMP: with libgomp the module lost most of its speed whenever
// anything else wanted the cores. libgomp's team spins in its barriers and
// after each region (GOMP_SPINCOUNT) without yielding, a region splits work
// statically and ends in a barrier that waits for every thread, so one
// descheduled thread stalls the whole region for a scheduler time slice.
// Measured on the 2-vCPU VM (784-256-26 float32 loss_and_grad at batch 64,
// called alternately with NumPy's 256x256 matmul, OpenBLAS pthreads pool):
// 21.8x its time alone, and NumPy 13x; OMP_WAIT_POLICY=passive cured that
// but cost 1.9x on an idle machine. This pool instead
// - lets the caller work and hands out fixed pieces one at a time, so a late
//   or descheduled worker delays at most the piece it took;
// - counts completion by pieces, with no barrier over threads;
// - spins between jobs for as long as the recent gaps between them suggest
//   (spin_budget.hpp), without yielding (why: at wait_for_job's comment
//   below), then sleeps on a futex;
// - drops to the caller's thread alone while jobs measure contention
//   (contention.hpp).
//
// Publication of a job, wait-free for the caller: the job's description
// (body, piece count) sits behind a sequence lock; pieces are claimed by a CAS
// on one word holding (epoch, next piece), so a worker that read the
// description of a job already finished can never claim a piece of the next.
// The caller's job object lives until every piece has finished, and a worker
// touches it only while it holds an unfinished piece.
#include <pthread.h>
#include <sched.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <ctime>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "runtime/blas_threads.hpp"
#include "runtime/clock.hpp"
#include "runtime/contention.hpp"
#include "runtime/openmp_route.hpp"
#include "runtime/parallel.hpp"
#include "runtime/spin_budget.hpp"

#if defined(__linux__)
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace pyfastnn {

namespace {

// wait_for_job: a worker without a job spins for a while before it sleeps,
// long enough to bridge the gaps between the jobs of one native call and
// between calls made back to back from Python, short enough that the core is
// free soon after a call for whatever runs next (another library's pool).
// How long, it learns from the gaps it saw (spin_budget.hpp).
//
// While the machine looks free the worker does not yield its core as it
// spins, and does not share the caller's. Linux's scheduler (EEVDF, 6.6 and
// later) answers sched_yield beside any other runnable thread by moving the
// yielder's deadline a whole time slice on, so a worker that always yielded
// handed its core for milliseconds to whatever else wanted it (OpenBLAS's
// spinning worker, a routed OpenBLAS team's caller, another process) and
// missed the next jobs: the caller ran them alone. A worker that never
// yielded, placed on the caller's CPU while another process held the other
// one, took that CPU from the caller; so it moves off the caller's CPU
// (leave_callers_cpu). Once callers were seen displaced from their CPU
// (contention.hpp, record_caller) it yields again and stays put for
// kPoliteNs: competing for a core beside another process through whole
// training epochs made the scheduler put that process on the caller's CPU.
//
// Measured on the 2-vCPU VM, kernel 6.18, with a spinner process on one core,
// 784-256-26 float32 loss_and_grad at batch 64 called back to back on two
// threads (60-call blocks; one thread 513-520 us): always yielding 517-520
// us; never, 285-288 us in some runs and 650-740 us in others; moving off the
// caller's CPU, 283-292 us; the same, polite after any contended job, 520-579
// us; polite after displaced callers, 287-291 or 369-377 us. Fit epochs of
// 20000 rows at batch 64, two threads over one: moving and never polite
// 1.04, 1.35, 1.04, 1.29x; polite after contended jobs 1.05, 1.04, 1.02x;
// after displaced callers 1.02, 1.07, 1.07x.
// Between two looks at the job word a spinning thread pauses this many times
// (about 0.2 us on x86); it reads the clock every kChecksPerClock looks. A
// caller waiting for a worker's last piece, or for room in the count of
// threads, offers its core to other threads (sched_yield) that often.
constexpr int kPausesPerCheck = 8;
constexpr int kChecksPerYield = 16;
constexpr int kChecksPerClock = 16;
constexpr uint64_t kLow32 = 0xffffffffu;

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#endif
}

// CPU time of the calling thread (a system call, ~0.5 us on the VM: sampled).
inline int64_t thread_cpu_ns() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<int64_t>(t.tv_sec) * 1'000'000'000 + t.tv_nsec;
}

// The CPU the last job's caller ran on, and whether this thread runs there
// now (sched_getcpu: no system call on x86-64 Linux). A spinning worker on
// the caller's CPU moves off it, or else yields to it (wait_for_job).
std::atomic<int> callers_cpu{-1};

inline void note_callers_cpu() {
#if defined(__linux__)
  callers_cpu.store(sched_getcpu(), std::memory_order_relaxed);
#endif
}

inline bool on_callers_cpu() {
#if defined(__linux__)
  return sched_getcpu() == callers_cpu.load(std::memory_order_relaxed);
#else
  return true;  // no cheap way to tell: always yield, as before
#endif
}

std::atomic<int64_t> worker_moves{0};
// The spin budget (spin_budget.hpp) a worker last waited with.
std::atomic<int64_t> spin_limit_ns{SpinBudget::kMaxNs};

// Moves the calling worker off the caller's CPU: its affinity without that
// CPU for an instant (the kernel migrates it at once), then the affinity it
// had, so that the scheduler stays free to place it afterwards. False when it
// cannot (one CPU allowed, or the calls fail): the worker yields instead.
bool leave_callers_cpu() {
#if defined(__linux__)
  const int cpu = callers_cpu.load(std::memory_order_relaxed);
  cpu_set_t allowed;
  if (cpu < 0 || cpu >= CPU_SETSIZE || sched_getaffinity(0, sizeof allowed, &allowed) != 0 ||
      CPU_COUNT(&allowed) < 2 || !CPU_ISSET(cpu, &allowed))
    return false;
  cpu_set_t elsewhere = allowed;
  CPU_CLR(cpu, &elsewhere);
  if (sched_setaffinity(0, sizeof elsewhere, &elsewhere) != 0) return false;
  sched_setaffinity(0, sizeof allowed, &allowed);
  worker_moves.fetch_add(1, std::memory_order_relaxed);
  return true;
#else
  return false;
#endif
}

// Set on pool workers for their lifetime and on a caller while it runs a
// job's pieces: a job started there runs inline.
thread_local bool in_parallel_work = false;

std::atomic<int> native_calls{0};

// Threads running the module's parallel work now (callers inside a top-level
// parallel_for, workers inside a job) and the most seen at once since the
// last reset: what "the threads of concurrent calls stay within
// num_threads()" means, measured.
std::atomic<int> active_threads{0};
std::atomic<int> most_active_threads{0};
thread_local int caller_depth = 0;

// How a thread joins the count of threads running parallel work.
enum class Joining {
  caller,   // a top-level caller: waits while workers of other calls fill the count
  worker,   // a pool worker: joins a job only below the job's limit
  member,   // a team member (run_team): always, its team waits for it
  none,     // not counted (nested calls, a worker's own pieces)
};

std::atomic<int> active_workers{0};

inline void note_most(int now) {
  int most = most_active_threads.load(std::memory_order_relaxed);
  while (now > most &&
         !most_active_threads.compare_exchange_weak(most, now, std::memory_order_relaxed)) {
  }
}

// Keeps active_threads <= limit, except for callers beyond it when no worker
// is counted: a caller (a Python thread in a native call) always runs, but
// while a worker of another call holds a place it waits for that worker's
// job to end (microseconds to milliseconds); a worker finding the count full
// stays out of the job. So the threads of concurrent calls stay within
// num_threads() at any moment, or within the number of callers if more call.
class ActiveThread {
 public:
  ActiveThread(Joining how, int limit) : how_(how) {
    if (how_ == Joining::none) return;
    if (how_ == Joining::member) {
      active_workers.fetch_add(1, std::memory_order_relaxed);
      note_most(active_threads.fetch_add(1, std::memory_order_acq_rel) + 1);
      return;
    }
    int a = active_threads.load(std::memory_order_acquire);
    for (int spins = 1;; ++spins) {
      const bool room = a < limit || (how_ == Joining::caller &&
                                      active_workers.load(std::memory_order_acquire) == 0);
      if (room) {
        if (active_threads.compare_exchange_weak(a, a + 1, std::memory_order_acq_rel)) break;
        continue;  // a was reloaded
      }
      if (how_ == Joining::worker) {
        how_ = Joining::none;  // stays out
        return;
      }
      cpu_relax();
      if (spins % kChecksPerYield == 0) sched_yield();
      a = active_threads.load(std::memory_order_acquire);
    }
    if (how_ == Joining::worker) active_workers.fetch_add(1, std::memory_order_relaxed);
    note_most(a + 1);
  }
  bool counts() const { return how_ != Joining::none; }
  ~ActiveThread() {
    if (how_ == Joining::none) return;
    if (how_ != Joining::caller) active_workers.fetch_sub(1, std::memory_order_relaxed);
    active_threads.fetch_sub(1, std::memory_order_acq_rel);
  }
  ActiveThread(const ActiveThread&) = delete;
  ActiveThread& operator=(const ActiveThread&) = delete;

 private:
  Joining how_;
};

// Counts the calling thread once, however deeply its parallel_for calls
// nest; not at all on a pool worker or inside a job's piece (counted there).
class ActiveCaller {
 public:
  ActiveCaller()
      : thread_(caller_depth++ == 0 && !in_parallel_work ? Joining::caller : Joining::none,
                process_threads()) {}
  ~ActiveCaller() { --caller_depth; }

 private:
  ActiveThread thread_;
};

struct Job {
  explicit Job(PieceRef b) : body(b) {}
  PieceRef body;
  std::mutex error_mutex;
  std::exception_ptr error;
  // The longest wall time of a piece run by a worker: beside the caller's
  // own time per piece, what contention.hpp judges.
  std::atomic<int64_t> worst_worker_piece_ns{0};
  void run(int64_t piece) noexcept {
    try {
      body(piece);
    } catch (...) {
      const std::lock_guard<std::mutex> lock(error_mutex);
      if (!error) error = std::current_exception();
    }
  }
};

class Pool {
 public:
  // Runs a job of `pieces` pieces with up to `team` threads; the caller owns
  // the pool (busy) for the duration.
  // limit: the most threads (of all callers and workers) that may run
  // parallel work while a worker joins (0: every seat must be taken, for
  // run_team); judge: whether the job's times feed the contention gate.
  void run(Job& job, int64_t pieces, int team, int limit, bool judge = true);
  bool try_own() { return !busy_.exchange(true, std::memory_order_acquire); }
  void release() { busy_.store(false, std::memory_order_release); }
  int workers() const { return started_.load(std::memory_order_relaxed); }
  // Runs the job on the routed libgomp's team instead (openmp_route.hpp);
  // false, with nothing run, when that team is not available.
  bool run_on_openmp(Job& job, int64_t pieces, int team, int limit);
  std::atomic<int64_t> jobs{0}, jobs_with_team{0}, openmp_jobs{0};
  void ensure_workers(int n);  // starts workers until there are n (or no more can start)

 private:
  void worker_loop(uint32_t seen);
  // Waits for a job after epoch `seen`, spinning up to spin_ns first;
  // returns whether it slept, and in *waited_ns how long it waited.
  bool wait_for_job(uint32_t seen, int64_t spin_ns, int64_t* waited_ns);
  // Claims and runs pieces of epoch e while there are any; returns how many.
  int64_t claim_and_run(uint64_t e, Job* job, int64_t pieces, bool timed);
  int64_t join_current();  // pieces run
  void wake_workers(int n);

  // The job, behind a sequence lock: seq_ is 2 * epoch when stable, odd
  // while the caller writes job_ and pieces_.
  std::atomic<uint64_t> seq_{0};
  std::atomic<Job*> job_{nullptr};
  std::atomic<int64_t> pieces_{0};
  std::atomic<int> limit_{0};
  std::atomic<uint64_t> claim_{0};  // epoch << 32 | next piece
  std::atomic<uint64_t> seats_{0};  // epoch << 32 | workers that may still join
  std::atomic<int64_t> done_{0};    // pieces finished
  std::atomic<uint32_t> wake_{0};   // futex word: the epoch's low 32 bits
  std::atomic<int> sleepers_{0};
  std::atomic<bool> busy_{false};
  uint64_t epoch_ = 0;  // written by the owner only
  std::mutex grow_mutex_;
  std::atomic<int> started_{0};
#if !defined(__linux__)
  std::mutex sleep_mutex_;
  std::condition_variable sleep_cv_;
#endif
};

Pool& pool() {
  static Pool* const p = new Pool;  // never destroyed: workers may outlive static destruction
  return *p;
}

void Pool::ensure_workers(int n) {
  if (started_.load(std::memory_order_acquire) >= n) return;
  const std::lock_guard<std::mutex> lock(grow_mutex_);
  // Workers never take signals: they stay with the threads Python knows.
  sigset_t all, previous;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &previous);
  while (started_.load(std::memory_order_relaxed) < n) {
    try {
      std::thread(&Pool::worker_loop, this, wake_.load(std::memory_order_acquire)).detach();
    } catch (...) {  // no more threads: run with those there are
      break;
    }
    started_.fetch_add(1, std::memory_order_release);
  }
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
}

void Pool::wake_workers(int n) {
  if (sleepers_.load(std::memory_order_seq_cst) == 0) return;
#if defined(__linux__)
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(&wake_), FUTEX_WAKE_PRIVATE, n, nullptr,
          nullptr, 0);
#else
  (void)n;
  const std::lock_guard<std::mutex> lock(sleep_mutex_);
  sleep_cv_.notify_all();
#endif
}

bool Pool::wait_for_job(uint32_t seen, int64_t spin_ns, int64_t* waited_ns) {
  const int64_t start = now_ns();
  // After a displaced caller the worker yields and stays put; otherwise it
  // moves off the caller's CPU at most once per spin, then yields there.
  const bool polite = contention_gate().caller_displaced_recently(start);
  bool moved = polite;
  for (int checks = 1; spin_ns > 0; ++checks) {
    if (wake_.load(std::memory_order_acquire) != seen) {
      *waited_ns = now_ns() - start;
      return false;
    }
    for (int k = 0; k < kPausesPerCheck; ++k) cpu_relax();
    if (checks % kChecksPerClock == 0 && now_ns() - start > spin_ns) break;
    if (checks % kChecksPerYield == 0 && (polite || on_callers_cpu())) {
      if (moved || !(moved = leave_callers_cpu())) sched_yield();
    }
  }
  sleepers_.fetch_add(1, std::memory_order_seq_cst);
  while (wake_.load(std::memory_order_seq_cst) == seen) {
#if defined(__linux__)
    syscall(SYS_futex, reinterpret_cast<uint32_t*>(&wake_), FUTEX_WAIT_PRIVATE, seen, nullptr,
            nullptr, 0);
#else
    std::unique_lock<std::mutex> lock(sleep_mutex_);
    sleep_cv_.wait_for(lock, std::chrono::milliseconds(1));
#endif
  }
  sleepers_.fetch_sub(1, std::memory_order_seq_cst);
  *waited_ns = now_ns() - start;
  return true;
}

int64_t Pool::claim_and_run(uint64_t e, Job* job, int64_t pieces, bool timed) {
  int64_t ran = 0;
  uint64_t c = claim_.load(std::memory_order_acquire);
  for (;;) {
    if ((c >> 32) != (e & kLow32) || static_cast<int64_t>(c & kLow32) >= pieces) return ran;
    if (claim_.compare_exchange_weak(c, c + 1, std::memory_order_acq_rel)) {
      if (timed) {
        const int64_t start = now_ns();
        job->run(static_cast<int64_t>(c & kLow32));
        const int64_t took = now_ns() - start;
        int64_t worst = job->worst_worker_piece_ns.load(std::memory_order_relaxed);
        while (took > worst && !job->worst_worker_piece_ns.compare_exchange_weak(
                                   worst, took, std::memory_order_relaxed)) {
        }
      } else {
        job->run(static_cast<int64_t>(c & kLow32));
      }
      done_.fetch_add(1, std::memory_order_release);
      ++ran;
      c = claim_.load(std::memory_order_acquire);
    }
  }
}

int64_t Pool::join_current() {
  // Read the job under the sequence lock.
  const uint64_t s1 = seq_.load(std::memory_order_acquire);
  if (s1 & 1) return 0;  // being written: its wake-up follows
  Job* const job = job_.load(std::memory_order_relaxed);
  const int64_t pieces = pieces_.load(std::memory_order_relaxed);
  const int limit = limit_.load(std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_acquire);
  if (seq_.load(std::memory_order_relaxed) != s1 || job == nullptr) return 0;
  const uint64_t e = s1 / 2;
  // Other Python threads' native calls that started after this job running
  // on their own threads: then the worker stays out, so that together they
  // keep to the thread count.
  const ActiveThread counted(limit > 0 ? Joining::worker : Joining::member, limit);
  if (!counted.counts()) return 0;
  uint64_t s = seats_.load(std::memory_order_acquire);
  do {
    if ((s >> 32) != (e & kLow32) || (s & kLow32) == 0) return 0;
  } while (!seats_.compare_exchange_weak(s, s - 1, std::memory_order_acq_rel));
  return claim_and_run(e, job, pieces, true);
}

void Pool::worker_loop(uint32_t seen) {
  in_parallel_work = true;
  SpinBudget budget;
  bool spin = true;
  for (;;) {
    spin_limit_ns.store(budget.limit_ns(), std::memory_order_relaxed);
    const int64_t spin_ns = spin ? budget.limit_ns() : 0;
    int64_t waited_ns = 0;
    const bool slept = wait_for_job(seen, spin_ns, &waited_ns);
    budget.record(waited_ns);
    seen = wake_.load(std::memory_order_acquire);
    const bool ran = join_current() > 0;
    // A worker that was spinning and still came too late for a job (the
    // caller had taken every piece) was not run by the machine: it sleeps at
    // once the next time instead of spinning, which would take a core from
    // whatever does run (OpenBLAS's workers, in NumPy code around the call).
    // One that was asleep was late by its wake-up and spins as usual.
    spin = ran || slept;
  }
}

void Pool::run(Job& job, int64_t pieces, int team, int limit, bool judge) {
  ensure_workers(team - 1);
  const uint64_t e = ++epoch_;
  seq_.store(2 * e - 1, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_release);
  job_.store(&job, std::memory_order_relaxed);
  pieces_.store(pieces, std::memory_order_relaxed);
  limit_.store(limit, std::memory_order_relaxed);
  done_.store(0, std::memory_order_relaxed);
  seq_.store(2 * e, std::memory_order_release);
  seats_.store(((e & kLow32) << 32) | static_cast<uint64_t>(team - 1), std::memory_order_release);
  claim_.store(((e & kLow32) << 32) | 1, std::memory_order_release);  // piece 0: the caller's
  wake_.store(static_cast<uint32_t>(e), std::memory_order_seq_cst);
  wake_workers(team - 1);

  note_callers_cpu();
  thread_local uint32_t jobs_here = 0;
  const bool sample = judge && ++jobs_here % ContentionGate::kCallerSampleEvery == 0;
  const int64_t cpu0 = sample ? thread_cpu_ns() : 0;
  const int64_t t0 = now_ns();
  in_parallel_work = true;
  job.run(0);
  done_.fetch_add(1, std::memory_order_release);
  const int64_t own = 1 + claim_and_run(e, &job, pieces, false);
  const int64_t t1 = now_ns();  // the caller has no piece left: it waits from here
  for (int checks = 1; done_.load(std::memory_order_acquire) < pieces; ++checks) {
    for (int k = 0; k < kPausesPerCheck; ++k) cpu_relax();
    if (checks % kChecksPerYield == 0) sched_yield();
  }
  in_parallel_work = false;
  const int64_t t2 = now_ns();
  jobs.fetch_add(1, std::memory_order_relaxed);
  if (own < pieces) jobs_with_team.fetch_add(1, std::memory_order_relaxed);
  if (own < pieces && judge) {
    contention_gate().record(t2, t2 - t1, (t1 - t0) / own,
                             job.worst_worker_piece_ns.load(std::memory_order_relaxed));
  }
  if (sample) contention_gate().record_caller(t2, t2 - t0, thread_cpu_ns() - cpu0);
}

// A job on a libgomp team: each member claims pieces from `next` until none
// is left, as the pool's workers claim theirs. The caller (the team's thread
// 0) is counted already; the other members join the count of threads running
// parallel work like the pool's workers (below the limit, else they stay
// out), and run their pieces as pool workers do: nested jobs inline.
struct OpenMPJob {
  Job* job;
  int64_t pieces;
  int limit;
  pthread_t caller;
  std::atomic<int64_t> next{0};
  int64_t caller_pieces = 0;  // written by the caller
  int64_t caller_done_ns = 0;
};

void openmp_member(void* data) {
  auto* const t = static_cast<OpenMPJob*>(data);
  const bool caller = pthread_equal(pthread_self(), t->caller) != 0;
  const ActiveThread counted(caller ? Joining::none : Joining::worker, t->limit);
  if (!caller && !counted.counts()) return;
  const bool was_in_work = in_parallel_work;
  in_parallel_work = true;
  int64_t ran = 0;
  for (;;) {
    const int64_t p = t->next.fetch_add(1, std::memory_order_relaxed);
    if (p >= t->pieces) break;
    if (caller) {
      t->job->run(p);
    } else {
      const int64_t start = now_ns();
      t->job->run(p);
      const int64_t took = now_ns() - start;
      int64_t worst = t->job->worst_worker_piece_ns.load(std::memory_order_relaxed);
      while (took > worst && !t->job->worst_worker_piece_ns.compare_exchange_weak(
                                 worst, took, std::memory_order_relaxed)) {
      }
    }
    ++ran;
  }
  in_parallel_work = was_in_work;
  if (caller) {
    t->caller_pieces = ran;
    t->caller_done_ns = now_ns();
  }
}

// After routed jobs that waited for a descheduled member (kContendedOfRecent
// of the last kRecent routed jobs, as the gate counts: a VM's vCPU alone is
// sometimes descheduled for a few ms), jobs run on the pool (whose caller
// takes a late worker's pieces instead of waiting for it) for a back-off
// that doubles with every such job (kFirstBackoffNs .. kMaxBackoffNs) and is
// forgotten kForgetRouteNs after the last one. Clean routed jobs do not
// shorten it: with another process on one core, about half the routed jobs
// found their member running, and a back-off halved by those kept probing the
// team, each failed probe costing a scheduler time slice (mean of 784-256-26
// loss_and_grad b64 1133 us, the pool's 583 us).
constexpr int64_t kForgetRouteNs = 4 * ContentionGate::kMaxBackoffNs;
std::atomic<int64_t> route_until_ns{0};
std::atomic<int64_t> route_backoff_ns{0};
std::atomic<int64_t> route_contended_at_ns{0};
std::atomic<uint32_t> route_recent{0};  // bit i: whether the i-th last routed job was contended

void note_routed_job(int64_t now, bool contended) {
  const uint32_t recent = ((route_recent.load(std::memory_order_relaxed) << 1) | contended) &
                          ((1u << ContentionGate::kRecent) - 1);
  route_recent.store(recent, std::memory_order_relaxed);
  if (!contended || __builtin_popcount(recent) < ContentionGate::kContendedOfRecent) return;
  int64_t backoff = route_backoff_ns.load(std::memory_order_relaxed);
  if (now - route_contended_at_ns.load(std::memory_order_relaxed) > kForgetRouteNs) backoff = 0;
  backoff = std::min(ContentionGate::kMaxBackoffNs,
                     std::max(ContentionGate::kFirstBackoffNs, 2 * backoff));
  route_backoff_ns.store(backoff, std::memory_order_relaxed);
  route_contended_at_ns.store(now, std::memory_order_relaxed);
  route_until_ns.store(now + backoff, std::memory_order_relaxed);
}

bool Pool::run_on_openmp(Job& job, int64_t pieces, int team, int limit) {
  OpenMPJob t{&job, pieces, limit, pthread_self()};
  const int64_t t0 = now_ns();
  if (t0 < route_until_ns.load(std::memory_order_relaxed)) return false;
  if (!run_on_openmp_team(team, &openmp_member, &t)) return false;
  const int64_t t2 = now_ns();
  jobs.fetch_add(1, std::memory_order_relaxed);
  openmp_jobs.fetch_add(1, std::memory_order_relaxed);
  const int64_t own = t.caller_pieces;
  if (own < pieces) jobs_with_team.fetch_add(1, std::memory_order_relaxed);
  if (own > 0) {
    // Unlike the pool's caller, libgomp's thread 0 waits at the region's end
    // for every member, also one that the machine ran too late to take a
    // piece (then the caller ran them all): with another process on one core,
    // routed jobs took 35-60x their time with no slow piece to show for it.
    // Pieces are claimed one at a time, so a team whose members all run keeps
    // the caller waiting about one piece: a wait beyond two of the caller's
    // pieces (and kMinWaitNs) is judged like a slow piece.
    const int64_t wait = t2 - t.caller_done_ns;
    const int64_t slowest = job.worst_worker_piece_ns.load(std::memory_order_relaxed);
    const int64_t worst = std::max(slowest, wait);
    const int64_t own_piece = (t.caller_done_ns - t0) / own;
    contention_gate().record(t2, wait, own_piece, worst);
    note_routed_job(t2, ContentionGate::contended(wait, own_piece, worst));
  }
  return true;
}

// run_team's members on a libgomp team: member m on the team's thread m;
// should the team be smaller than asked (it is not when dynamic sizes are off
// and the thread limit allows, which run_on_full_openmp_team checks), thread
// 0 starts threads for the missing members, as run_team does without a pool.
struct OpenMPTeam {
  PieceRef body;
  int members;
};

void openmp_team_member(void* data) {
  const auto* const t = static_cast<const OpenMPTeam*>(data);
  const int me = openmp_thread_num();
  if (me >= t->members) return;
  const ActiveThread counted(me == 0 ? Joining::none : Joining::member, 0);
  std::vector<std::thread> helpers;
  if (me == 0) {
    for (int m = openmp_team_size(); m < t->members; ++m)
      helpers.emplace_back([t, m] {
        const ActiveThread helper(Joining::member, 0);
        t->body(m);
      });
  }
  const bool was_in_work = in_parallel_work;
  in_parallel_work = true;
  t->body(me);
  in_parallel_work = was_in_work;
  for (std::thread& h : helpers) h.join();
}

}  // namespace

WorkerMove move_off_callers_cpu_selftest() {
  WorkerMove r;
#if defined(__linux__)
  cpu_set_t before, after;
  sched_getaffinity(0, sizeof before, &before);
  note_callers_cpu();
  r.cpu_before = callers_cpu.load(std::memory_order_relaxed);
  r.moved = leave_callers_cpu();
  r.cpu_after = sched_getcpu();
  sched_getaffinity(0, sizeof after, &after);
  r.affinity_kept = CPU_EQUAL(&before, &after) != 0;
#endif
  return r;
}

NativeCall::NativeCall() {
  native_calls.fetch_add(1, std::memory_order_relaxed);
  if (blas_threads_routed()) route_new_blas_libraries(now_ns());
}
NativeCall::~NativeCall() { native_calls.fetch_sub(1, std::memory_order_relaxed); }
int calls_in_flight() { return native_calls.load(std::memory_order_relaxed); }

void parallel_for(int64_t pieces, int threads, PieceRef body) {
  if (pieces <= 0) return;
  const ActiveCaller counted;
  static const int cpus = usable_cpus();
  const int allowed = num_threads();
  int team = std::min({threads, allowed, cpus});
  if (pieces < team) team = static_cast<int>(pieces);
  const int others = calls_in_flight() - 1;  // this call's thread counts itself
  if (others > 0) team = std::min(team, std::max(1, allowed - others));
  if (team > 1 && in_parallel_work) team = 1;
  if (team > 1 && !contention_gate().allow_team(now_ns())) {
    contention_gate().note_denied();
    team = 1;
  }
  if (team > 1 && pieces <= static_cast<int64_t>(kLow32) && pool().try_own()) {
    Job job(body);
    if (!pool().run_on_openmp(job, pieces, team, allowed)) pool().run(job, pieces, team, allowed);
    pool().release();
    if (job.error) std::rethrow_exception(job.error);
    return;
  }
  for (int64_t p = 0; p < pieces; ++p) body(p);
}

void run_team(int members, PieceRef body) {
  if (members <= 1) {
    if (members == 1) body(0);
    return;
  }
  // A pool worker or a caller inside a job cannot wait for the pool; a forked
  // child has no workers.
  const ActiveCaller counted;
  if (!in_parallel_work && !in_forked_child() && members <= kMaxThreads && pool().try_own()) {
    Pool& p = pool();
    // With the pool's jobs on a libgomp team, the team's work goes there too:
    // one set of threads, not the team's spinning beside the pool's.
    OpenMPTeam on_team{body, members};
    if (run_on_full_openmp_team(members, &openmp_team_member, &on_team)) {
      p.openmp_jobs.fetch_add(1, std::memory_order_relaxed);
      p.release();
      return;
    }
    p.ensure_workers(members - 1);
    if (p.workers() >= members - 1) {
      // The caller runs piece 0 and each worker claims one piece as it
      // arrives; a thread claims a second piece only after its first has
      // ended, which members waiting for one another do only once all have
      // started. Their times say nothing about contention: not judged.
      Job job(body);
      p.run(job, members, members, /*limit=*/0, /*judge=*/false);
      p.release();
      return;
    }
    p.release();
  }
  std::vector<std::thread> helpers;
  helpers.reserve(static_cast<size_t>(members - 1));
  for (int m = 1; m < members; ++m)
    helpers.emplace_back([&body, m] {
      const ActiveThread helper(Joining::member, 0);
      body(m);
    });
  body(0);
  for (std::thread& t : helpers) t.join();
}

void run_beside(TaskRef main, TaskRef side) {
  std::exception_ptr failure[2];
  const auto run = [&](int64_t which) {
    const ScopedThreadLimit one(1);
    try {
      (which == 0 ? main : side)();
    } catch (...) {
      failure[which] = std::current_exception();
    }
  };
  parallel_for(2, num_threads() > 1 ? 2 : 1, run);
  for (const std::exception_ptr& f : failure)
    if (f) std::rethrow_exception(f);
}

PoolStats pool_stats() {
  PoolStats s;
  s.jobs = pool().jobs.load(std::memory_order_relaxed);
  s.jobs_with_team = pool().jobs_with_team.load(std::memory_order_relaxed);
  s.openmp_jobs = pool().openmp_jobs.load(std::memory_order_relaxed);
  s.contended_jobs = contention_gate().contended_jobs();
  s.backoff_ns = contention_gate().backoff_ns();
  s.workers = pool().workers();
  s.cpus = usable_cpus();
  s.most_threads_at_once = most_active_threads.load(std::memory_order_relaxed);
  s.worker_moves = worker_moves.load(std::memory_order_relaxed);
  s.displaced_jobs = contention_gate().displaced_jobs();
  s.spin_limit_ns = spin_limit_ns.load(std::memory_order_relaxed);
  return s;
}

void reset_contention() {
  contention_gate().reset();
  route_until_ns.store(0, std::memory_order_relaxed);
  route_backoff_ns.store(0, std::memory_order_relaxed);
  route_contended_at_ns.store(0, std::memory_order_relaxed);
  route_recent.store(0, std::memory_order_relaxed);
}

void reset_most_threads_at_once() {
  most_active_threads.store(active_threads.load(std::memory_order_relaxed),
                            std::memory_order_relaxed);
}

}  // namespace pyfastnn
