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
// step is timed and the governor keeps, per candidate, the last kWindow
// durations. Steps run on the candidate with the lowest median ("best"),
// except probes of a neighbour of best (the next count up or down), spaced
// kMinProbeInterval steps apart after a change and up to kMaxProbeInterval
// apart while nothing changes. A probe faster than best's median is
// repeated until its window is fresh, and best moves if its median is lower
// by kSwitchMargin. When best's own median rises above a neighbour's
// (stale) median, that neighbour is probed at once.
//
// The first step after a change of count is not counted (its data sit in
// the other cores' caches), so a probe lasts two steps.
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

 private:
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

}  // namespace pyfastnn
