// Parallel sums whose value does not depend on the number of threads.
//
// A reduction that adds one partial sum per thread (OpenMP's
// `reduction(+ : s)`) rounds differently on each thread count. Here [0, n) is cut into fixed
// chunks of `chunk` indices, the chunks' sums are computed in parallel and
// then added in chunk order on the calling thread: the same bits on 1 or 64
// threads. Training relies on this: the loss it reports, like the weights,
// must not depend on how many threads ran the epoch (see thread_governor.hpp).
#pragma once

#include <cstdint>
#include <vector>

#include "runtime/parallel.hpp"

namespace pyfastnn {

// Sum over the chunks [c * chunk, min(n, (c + 1) * chunk)) of part(begin, end),
// added in chunk order; part runs on up to `threads` threads (one job whose
// pieces are the chunks). n >= 0, chunk >= 1.
template <class F>
double ordered_chunk_sum(int64_t n, int64_t chunk, int threads, const F& part) {
  const int64_t chunks = (n + chunk - 1) / chunk;
  constexpr int64_t kInline = 64;  // chunk sums kept on the stack up to this many
  double inline_sums[kInline];
  std::vector<double> heap_sums;
  double* sums = inline_sums;
  if (chunks > kInline) {
    heap_sums.resize(static_cast<size_t>(chunks));
    sums = heap_sums.data();
  }
  const auto chunk_sum = [&](int64_t c) {
    const int64_t begin = c * chunk;
    sums[c] = part(begin, begin + chunk < n ? begin + chunk : n);
  };
  parallel_for(chunks, threads, chunk_sum);
  double total = 0;
  for (int64_t c = 0; c < chunks; ++c) total += sums[c];
  return total;
}

}  // namespace pyfastnn
