// Internals shared by the portable simplex sources (simplex.cpp,
// simplex_products.cpp, simplex_losses.cpp): the parallel row driver and the
// single-threaded block kernels. Not included by simplex_avx2.cpp.
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>
#include <vector>

#include "runtime/parallel.hpp"

namespace pyfastnn {
namespace simplex_detail {

// Below this many entries a call runs on one thread (starting threads costs more).
constexpr int64_t kParallelMinElements = int64_t(1) << 15;
// Rows are handed to threads in chunks of about this many entries, the
// pieces of one job (claimed on demand: a descheduled thread delays only its
// chunk).
constexpr int64_t kChunkElements = int64_t(1) << 16;

inline int threads_for(int64_t n, int64_t K) {
  if (n < 2 || n * K < kParallelMinElements) return 1;
  return static_cast<int>(std::min<int64_t>(num_threads(), n));
}

// Calls body(r0, r1, scratch) over chunks of rows covering [0, n) and returns the
// sum of the values it returns, added in chunk order (the same result for any
// thread count or schedule). scratch is K elements of T per thread when
// want_scratch, else nullptr.
template <typename T, typename F>
double sum_over_row_blocks(int64_t n, int64_t K, bool want_scratch, F&& body) {
  const int nt = threads_for(n, K);
  if (nt == 1) {
    std::vector<T> scratch(want_scratch ? K : 0);
    return body(int64_t(0), n, want_scratch ? scratch.data() : nullptr);
  }
  const int64_t rows = std::max<int64_t>(1, kChunkElements / K);
  const int64_t chunks = (n + rows - 1) / rows;
  std::vector<double> partial(chunks, 0.0);
  parallel_for(chunks, nt, [&](int64_t c) {
    std::vector<T> scratch(want_scratch ? K : 0);  // one small allocation per chunk
    partial[c] = body(c * rows, std::min(n, (c + 1) * rows), want_scratch ? scratch.data() : nullptr);
  });
  double total = 0;
  for (double v : partial) total += v;
  return total;
}

// As sum_over_row_blocks, for a body that returns nothing.
template <typename T, typename F>
void for_row_blocks(int64_t n, int64_t K, bool want_scratch, F&& body) {
  sum_over_row_blocks<T>(n, K, want_scratch, [&](int64_t r0, int64_t r1, T* scratch) {
    body(r0, r1, scratch);
    return 0.0;
  });
}

template <typename T>
inline void fill_nan(T* row, int64_t K) {
  std::fill(row, row + K, std::numeric_limits<T>::quiet_NaN());
}

// Single-threaded kernels for rows [0, rows) of Z (rows, K) -> P (rows, K);
// the public functions split rows across threads and call these (the losses
// call them on one row). Defined in simplex.cpp for float and double.
template <typename T>
void softmax_block(const T* Z, int64_t rows, int64_t K, T inv_t, T* P);
template <typename T>
void sparsemax_block(const T* Z, int64_t rows, int64_t K, T inv_t, T* P);
template <typename T>
void relumax_block(const T* Z, int64_t rows, int64_t K, T b, T inv_t, T* P);

}  // namespace simplex_detail
}  // namespace pyfastnn
