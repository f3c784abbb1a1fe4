// Chooses the thread count of each training step from the measured step times.
//
// Why: a step of a small network passes its activations and gradients
// between the cores every time (column blocks of one layer feed all columns of
// the next). Where the cores share a cache that is cheap; on a VM whose vCPUs
// the hypervisor sometimes places on different core complexes it is not. On
// the 2-vCPU Zen 4 VM this was written on, a cache line's round trip between
// the two threads measured 55 ns or 320 ns depending on the second, and a
// 784-256-26 batch-64 step took ~400 us on two threads or ~780 us, against
// ~660 us on one. No fixed count is best there; the measured one is.
//
// How: the candidates are max_threads, max_threads / 2, ..., 1. Every full
// step is timed; the epoch loop records the mean of each block of steps as
// one "step" (GovernorBlocks, below), and the governor keeps, per candidate,
// the last kWindow durations. Steps run on the candidate with the lowest
// median ("best"), except probes of a neighbour of best (the next count up
// or down), spaced kMinProbeInterval steps apart after a change and up to
// kMaxProbeInterval apart while nothing changes. A probe faster than best's median is
// repeated until its window is fresh, and best moves if its median is lower
// by kSwitchMargin. When best's own median rises above a neighbour's
// (stale) median, that neighbour is probed at once.
//
// The first step after a change of count is not counted (its data sit in
// the other cores' caches), so a probe lasts two steps (record), or one
// block with its first step left out (record_warm, GovernorBlocks).
//
// Results do not depend on the count: every native kernel gives the same bits
// on any number of threads (gemm/, ordered_sum.hpp; tests/test_threads.py).
#pragma once

#include <array>
#include <cstdint>
#include <vector>

namespace pyfastnn {

class ThreadGovernor {
 public:
  static constexpr int kWindow = 5;               // durations kept per candidate
  static constexpr int64_t kMinProbeInterval = 4;  // steps between probes after a change
  static constexpr int64_t kMaxProbeInterval = 128;  // ... and at most, while nothing changes
  static constexpr double kSwitchMargin = 0.05;   // a neighbour must be this much faster

  // Forgets all measurements when max_threads or `key` (e.g. the batch size:
  // another step size) differ from the last call's; otherwise keeps them.
  void configure(int max_threads, int64_t key);
  int best() const { return candidates_[best_].threads; }
  // The thread count for the next step, and that step's duration in seconds.
  int choose();
  void record(int threads, double seconds);
  // The same for a sample that leaves out the first step after a change of
  // count already (GovernorBlocks): it counts even right after a change.
  void record_warm(int threads, double seconds);

 private:
  void record_sample(int threads, double seconds, bool warm);
  struct Candidate {
    int threads = 1;
    std::array<double, kWindow> recent{};  // ring buffer of durations
    int count = 0;                         // durations recorded, capped at kWindow
    int next = 0;                          // ring position of the next one
    double median() const;
  };
  int index_of(int threads) const;
  int neighbour(int direction) const;  // -1: fewer threads, +1: more; -1 if none
  void probe_now(int candidate);
  // The next probe, `steps` best steps from now, of the other neighbour.
  void schedule_probe(int64_t steps);

  int64_t key_ = -1;
  std::vector<Candidate> candidates_;  // threads in decreasing order
  int best_ = 0;
  int last_threads_ = 0;                // count of the last recorded step
  int probe_ = -1;                      // candidate of the next probe
  int64_t steps_to_probe_ = kMinProbeInterval;
  int64_t interval_ = kMinProbeInterval;
  int probe_direction_ = 1;             // +1: more threads, -1: fewer
  int repeats_ = 0;                     // repeated probes of a promising candidate
};

// What an epoch loop feeds its ThreadGovernor: blocks of kStepsPerSample
// steps on one count, each block's mean step time one sample.
//
// Why not single steps: on a busy machine most two-thread steps run at full
// speed and a few (the worker descheduled while the caller waits for its
// piece, 1-2% of jobs) take milliseconds. A median of single steps never sees
// those, though they decide the epoch's time; a mean of single steps flips on
// any one slow step. The median of block means sees the slow steps at the
// rate they occur. Measured on the 2-vCPU VM, 784-256-26 at batch 64 over
// 20000 rows, a spinner process on one core, six runs each, median epoch of
// three, two threads over one thread: single steps 1.01-1.11x (epochs up to
// 404 ms against 264-291 on one thread), blocks of 8 steps 1.00-1.03x. Quiet:
// batch 200 over 4000 rows (MNIST-5k's shape) later epochs 28.4-28.9 ms with
// blocks, 28.8-55.4 ms with single steps (stuck on one thread in two runs
// of three); batch 64 and 256 the same within noise.
//
// A step whose jobs the contention gate kept on one thread belongs to its
// block but its time does not count (it did not run on the block's count),
// nor does the first step of a block on another count than the block before
// (its data sit in the other cores' caches); a block with no counted step
// gives no sample. A probe thus lasts one block: 8 steps, against 2 when the
// governor judged single steps, but the interval between probes grows to
// kMaxProbeInterval blocks, not steps.
class GovernorBlocks {
 public:
  static constexpr int kStepsPerSample = 8;
  // The next step's thread count: the governor's choice at a block's start,
  // the block's count inside it.
  int choose(ThreadGovernor& governor) {
    if (done_ == 0) threads_ = governor.choose();
    return threads_;
  }
  // A step of the block took `seconds`; counted: whether it ran on the
  // block's count.
  void record(ThreadGovernor& governor, double seconds, bool counted) {
    const bool warming = done_ == 0 && threads_ != previous_threads_;
    if (counted && !warming) {
      sum_ += seconds;
      ++counted_;
    }
    if (++done_ < kStepsPerSample) return;
    if (counted_ > 0) governor.record_warm(threads_, sum_ / counted_);
    previous_threads_ = threads_;
    done_ = counted_ = 0;
    sum_ = 0;
  }

 private:
  int previous_threads_ = 0;  // the last whole block's count (0: none yet)
  int threads_ = 1;
  int done_ = 0;
  int counted_ = 0;
  double sum_ = 0;
};

}  // namespace pyfastnn
