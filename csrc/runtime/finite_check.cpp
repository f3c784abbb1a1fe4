#include "runtime/finite_check.hpp"

#include <algorithm>
#include <atomic>

#include "runtime/parallel.hpp"

namespace pyfastnn {

namespace {

// Values tested between looks at the other threads' findings (64 KB of float).
constexpr int64_t kFiniteBlock = 1 << 14;
// Below this many values the test runs on one thread (1 MB of float).
constexpr int64_t kParallelMinValues = 1 << 18;
// Independent partial sums per block: lanes the compiler maps to vector registers.
constexpr int kLanes = 16;

// x * 0 is 0 for finite x and NaN for NaN or infinite x; a sum of such terms
// is NaN as soon as one is. Each lane sums its own terms, in order, so the
// loop vectorises without reassociating anything.
template <typename T>
bool block_finite(const T* x, int64_t n) {
  T acc[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int j = 0; j < kLanes; ++j) acc[j] += x[i + j] * T(0);
  for (; i < n; ++i) acc[0] += x[i] * T(0);
  T total = 0;
  for (int j = 0; j < kLanes; ++j) total += acc[j];
  return total == T(0);
}

}  // namespace

template <typename T>
bool all_finite(const T* x, int64_t n) {
  const int threads = n >= kParallelMinValues ? num_threads() : 1;
  std::atomic<bool> found{false};
  parallel_ranges(n, kFiniteBlock, threads, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e && !found.load(std::memory_order_relaxed); i += kFiniteBlock)
      if (!block_finite(x + i, std::min(kFiniteBlock, e - i)))
        found.store(true, std::memory_order_relaxed);
  });
  return !found.load();
}

template bool all_finite<float>(const float*, int64_t);
template bool all_finite<double>(const double*, int64_t);

}  // namespace pyfastnn
