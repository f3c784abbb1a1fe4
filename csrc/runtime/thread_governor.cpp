#include "runtime/thread_governor.hpp"

#include <algorithm>
#include <limits>

namespace pyfastnn {

double ThreadGovernor::Candidate::median() const {
  if (count == 0) return std::numeric_limits<double>::infinity();
  std::array<double, kWindow> v = recent;
  std::sort(v.begin(), v.begin() + count);
  return count % 2 == 1 ? v[count / 2] : 0.5 * (v[count / 2 - 1] + v[count / 2]);
}

void ThreadGovernor::configure(int max_threads, int64_t key) {
  if (max_threads < 1) max_threads = 1;
  if (!candidates_.empty() && max_threads == candidates_.front().threads && key == key_) return;
  key_ = key;
  candidates_.clear();
  for (int t = max_threads;; t /= 2) {
    Candidate c;
    c.threads = t;
    candidates_.push_back(c);
    if (t == 1) break;
  }
  best_ = 0;
  last_threads_ = 0;
  repeats_ = 0;
  interval_ = kMinProbeInterval;
  schedule_probe(interval_);
}

int ThreadGovernor::index_of(int threads) const {
  for (size_t i = 0; i < candidates_.size(); ++i)
    if (candidates_[i].threads == threads) return static_cast<int>(i);
  return -1;
}

int ThreadGovernor::neighbour(int direction) const {
  const int i = best_ - direction;  // candidates_ run from most to fewest threads
  return i >= 0 && i < static_cast<int>(candidates_.size()) ? i : -1;
}

void ThreadGovernor::schedule_probe(int64_t steps) {
  probe_direction_ = -probe_direction_;  // alternate between the neighbours
  const int nb = neighbour(probe_direction_);
  probe_ = nb >= 0 ? nb : neighbour(-probe_direction_);
  steps_to_probe_ = steps;
}

void ThreadGovernor::probe_now(int candidate) {
  probe_ = candidate;
  steps_to_probe_ = 0;
}

int ThreadGovernor::choose() {
  if (probe_ >= 0 && steps_to_probe_ <= 0) return candidates_[probe_].threads;
  return best();
}

void ThreadGovernor::record(int threads, double seconds) { record_sample(threads, seconds, false); }

void ThreadGovernor::record_warm(int threads, double seconds) {
  record_sample(threads, seconds, true);
}

void ThreadGovernor::record_sample(int threads, double seconds, bool warm) {
  const int i = index_of(threads);
  if (i < 0) return;
  // The first step after a change of count finds the data in the other
  // cores' caches: not a fair sample of either count. A probe therefore
  // lasts at least two steps, and only the second one counts.
  const bool transition = threads != last_threads_;
  last_threads_ = threads;
  if (transition && !warm) {
    if (i != best_)
      probe_now(i);
    else
      --steps_to_probe_;
    return;
  }
  Candidate& c = candidates_[i];
  c.recent[c.next] = seconds;
  c.next = (c.next + 1) % kWindow;
  c.count = std::min(c.count + 1, kWindow);
  const double best_median = candidates_[best_].median();

  if (i == best_) {
    --steps_to_probe_;
    // Best got slower than a neighbour was when last measured: look again now.
    for (const int direction : {-1, 1}) {
      const int nb = neighbour(direction);
      if (nb >= 0 && steps_to_probe_ > 0 && repeats_ == 0 &&
          best_median > candidates_[nb].median() * (1 + kSwitchMargin)) {
        probe_now(nb);
        break;
      }
    }
    return;
  }

  // A probe.
  if (c.count == kWindow && c.median() < best_median * (1 - kSwitchMargin)) {
    best_ = i;
    repeats_ = 0;
    interval_ = kMinProbeInterval;
    schedule_probe(interval_);
    return;
  }
  if (seconds < best_median * (1 - kSwitchMargin) && repeats_ < kWindow - 1) {
    ++repeats_;  // promising: measure it again until its window is fresh
    probe_now(i);
    return;
  }
  repeats_ = 0;
  interval_ = std::min(2 * interval_, kMaxProbeInterval);
  schedule_probe(interval_);
}

}  // namespace pyfastnn
