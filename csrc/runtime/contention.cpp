#include "runtime/contention.hpp"

#include <algorithm>

namespace pyfastnn {

void ContentionGate::record(int64_t now_ns, int64_t wait_ns, int64_t own_piece_ns,
                            int64_t worker_piece_ns) {
  int64_t backoff = backoff_ns_.load(std::memory_order_relaxed);
  const bool now_contended = contended(wait_ns, own_piece_ns, worker_piece_ns);
  const uint32_t recent = ((recent_.load(std::memory_order_relaxed) << 1) | now_contended) &
                          ((1u << kRecent) - 1);
  recent_.store(recent, std::memory_order_relaxed);
  if (now_contended) contended_jobs_.fetch_add(1, std::memory_order_relaxed);
  if (now_contended && __builtin_popcount(recent) >= kContendedOfRecent) {
    backoff = std::min(kMaxBackoffNs, std::max(kFirstBackoffNs, 2 * backoff));
    until_ns_.store(now_ns + backoff, std::memory_order_relaxed);
  } else if (!now_contended) {
    backoff = backoff / 2 < kFirstBackoffNs ? 0 : backoff / 2;
  }
  backoff_ns_.store(backoff, std::memory_order_relaxed);
}

void ContentionGate::record_caller(int64_t now_ns, int64_t wall_ns, int64_t cpu_ns) {
  const bool displaced = wall_ns > cpu_ns + cpu_ns / 4 + kMinWaitNs;
  const uint32_t recent = ((displaced_recent_.load(std::memory_order_relaxed) << 1) | displaced) &
                          ((1u << kRecent) - 1);
  displaced_recent_.store(recent, std::memory_order_relaxed);
  if (!displaced) return;
  displaced_jobs_.fetch_add(1, std::memory_order_relaxed);
  if (__builtin_popcount(recent) >= kContendedOfRecent)
    displaced_at_ns_.store(now_ns, std::memory_order_relaxed);
}

void ContentionGate::reset() {
  until_ns_.store(0, std::memory_order_relaxed);
  backoff_ns_.store(0, std::memory_order_relaxed);
  contended_jobs_.store(0, std::memory_order_relaxed);
  displaced_at_ns_.store(INT64_MIN / 2, std::memory_order_relaxed);
  displaced_jobs_.store(0, std::memory_order_relaxed);
  displaced_recent_.store(0, std::memory_order_relaxed);
  recent_.store(0, std::memory_order_relaxed);
}

ContentionGate& contention_gate() {
  static ContentionGate gate;
  return gate;
}

}  // namespace pyfastnn
