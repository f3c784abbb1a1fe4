// Forward maps onto the simplex (softmax, sparsemax, relumax_b) and the
// sparsemax threshold search. See simplex.hpp for the API and conventions,
// docs/SPARSE_MAPS.md for the algorithm.
//
// Sparsemax per row, without sorting the row:
//   1. m = max(z)                                     (one pass; NaN / inf check)
//   2. gather y_i = (z_i - m) / T for y_i > -1          (one pass; usually few survive)
//   3. tau from the candidates by pruning (Michelot 1986; Condat 2016)
//   4. p_i = max(y_i - tau, 0)                         (one pass)
// Passes 2-4 run on a row that is in cache after pass 1, so the row costs one
// read and one write of memory. The candidates are gathered into the output
// row itself, so no scratch memory is needed.
#include "simplex/simplex.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>

#include "runtime/kernel_registry.hpp"
#include "simd/exp_kernels.hpp"
#include "simplex/simplex_internal.hpp"
#include "simplex/simplex_rows.hpp"

namespace pyfastnn {

namespace simplex_detail {

namespace {

// Largest entry of the row, or NaN when the row has a NaN, a +inf, or only -inf
// entries (then the map is undefined: see simplex.hpp).
template <typename T>
T checked_row_max(const T* z, int64_t K) {
  T m = -std::numeric_limits<T>::infinity();
  int nan = 0;
#pragma omp simd reduction(max : m) reduction(| : nan)
  for (int64_t k = 0; k < K; ++k) {
    m = z[k] > m ? z[k] : m;
    nan |= z[k] != z[k];
  }
  if (nan || !std::isfinite(m)) return std::numeric_limits<T>::quiet_NaN();
  return m;
}

// tau by sorting the candidates (descending) and scanning the partial sums:
// the support is the largest k with y_(k) > (y_(1) + ... + y_(k) - 1) / k
// (Held, Wolfe & Crowder 1974; Duchi et al. 2008).
template <typename T>
T threshold_by_sort(T* y, int64_t c) {
  std::sort(y, y + c, std::greater<T>());
  T sum = 0, tau = y[0] - 1;
  for (int64_t k = 0; k < c; ++k) {
    sum += y[k];
    const T t = (sum - 1) / T(k + 1);
    if (y[k] > t)
      tau = t;
    else
      break;
  }
  return tau;
}

template <typename T>
T threshold_pruning(T* y, int64_t c) {
  // Michelot's iteration: tau = (sum of kept - 1) / #kept, drop the entries <= tau,
  // repeat until none is dropped. tau only increases and the largest entry (0)
  // is never dropped (tau < 0), so #kept >= 1.
  T sum = 0;
  for (int64_t i = 0; i < c; ++i) sum += y[i];
  int64_t n = c;
  T tau = (sum - 1) / T(n);
  for (int pass = 0; pass < kMaxPruningPasses; ++pass) {
    int64_t kept = 0;
    T kept_sum = 0;
    for (int64_t i = 0; i < n; ++i) {
      const T v = y[i];
      y[kept] = v;
      kept += v > tau;
      kept_sum += v > tau ? v : T(0);
    }
    if (kept == n) return tau;
    n = kept;
    tau = (kept_sum - 1) / T(n);
  }
  return threshold_by_sort(y, n);
}

// ---- portable row kernels ------------------------------------------------------

template <typename T>
void sparsemax_row(const T* z, int64_t K, T inv_t, T* p) {
  const T m = checked_row_max(z, K);
  if (std::isnan(m)) return fill_nan(p, K);
  int64_t c = 0;  // candidates gathered into p[0, c), c <= k at step k
  for (int64_t k = 0; k < K; ++k) {
    const T y = (z[k] - m) * inv_t;
    p[c] = y;
    c += y > T(kCandidateFloor);
  }
  const T tau = threshold_of_candidates(p, c);
  for (int64_t k = 0; k < K; ++k) p[k] = std::max((z[k] - m) * inv_t - tau, T(0));
}

template <typename T>
void relumax_row(const T* z, int64_t K, T b, T inv_t, T* p) {
  const T m = checked_row_max(z, K);
  if (std::isnan(m)) return fill_nan(p, K);
  T sum = 0;  // >= b > 0: the max contributes b
  for (int64_t k = 0; k < K; ++k) sum += std::max((z[k] - m) * inv_t + b, T(0));
  const T inv_sum = T(1) / sum;
  for (int64_t k = 0; k < K; ++k) p[k] = std::max((z[k] - m) * inv_t + b, T(0)) * inv_sum;
}

// p = exp((z - max z) / T) / sum: the softmax exp family (simd/exp_kernels.hpp:
// vectorised under AVX-512 for float and double) writes the exps and their sum.
template <typename T>
void softmax_row(const T* z, int64_t K, T inv_t, T* p, ExpShifted<T> exp_shifted) {
  const T m = checked_row_max(z, K);
  if (std::isnan(m)) return fill_nan(p, K);
  const T sum = exp_shifted(z, K, m, inv_t, p);  // >= 1: the max contributes exp(0)
  const T inv_sum = T(1) / sum;
  for (int64_t k = 0; k < K; ++k) p[k] *= inv_sum;
}

}  // namespace

float threshold_of_candidates(float* y, int64_t c) { return threshold_pruning(y, c); }
double threshold_of_candidates(double* y, int64_t c) { return threshold_pruning(y, c); }

template <typename T>
void softmax_block(const T* Z, int64_t rows, int64_t K, T inv_t, T* P) {
  const ExpShifted<T> exp_shifted = active_exp_shifted<T>();
  for (int64_t i = 0; i < rows; ++i) softmax_row(Z + i * K, K, inv_t, P + i * K, exp_shifted);
}

namespace {

template <typename T>
void portable_sparsemax_rows(const T* Z, int64_t rows, int64_t K, T inv_t, T* P) {
  for (int64_t i = 0; i < rows; ++i) sparsemax_row(Z + i * K, K, inv_t, P + i * K);
}

template <typename T>
void portable_relumax_rows(const T* Z, int64_t rows, int64_t K, T b, T inv_t, T* P) {
  for (int64_t i = 0; i < rows; ++i) relumax_row(Z + i * K, K, b, inv_t, P + i * K);
}

template <typename T>
SimplexMapKernels<T> portable_maps() {
  SimplexMapKernels<T> k;
  k.sparsemax_rows = portable_sparsemax_rows<T>;
  k.relumax_rows = portable_relumax_rows<T>;
  return k;
}

#ifdef PYFASTNN_X86
template <typename T>
SimplexMapKernels<T> avx2_maps() {
  SimplexMapKernels<T> k;
  k.sparsemax_rows = avx2::sparsemax_rows;
  k.relumax_rows = avx2::relumax_rows;
  return k;
}

template <typename T>
SimplexMapKernels<T> avx512_maps() {
  SimplexMapKernels<T> k = avx2_maps<T>();  // long rows
  k.sparsemax_lanes = avx512::sparsemax_rows;
  k.relumax_lanes = avx512::relumax_rows;
  return k;
}
#endif

const KernelTable<SimplexMapKernels<float>> map_kernels_f32(
    "simplex_maps", "float32", portable_maps<float>, PYFASTNN_X86_ONLY(avx2_maps<float>),
    PYFASTNN_X86_ONLY(avx512_maps<float>));
const KernelTable<SimplexMapKernels<double>> map_kernels_f64(
    "simplex_maps", "float64", portable_maps<double>, PYFASTNN_X86_ONLY(avx2_maps<double>),
    PYFASTNN_X86_ONLY(avx512_maps<double>));

}  // namespace

template <typename T>
void sparsemax_block(const T* Z, int64_t rows, int64_t K, T inv_t, T* P) {
  const SimplexMapKernels<T>& k = table_for<T>(map_kernels_f32, map_kernels_f64);
  if (k.sparsemax_lanes != nullptr && K <= kSparsemaxLaneRowsMaxK && rows >= kLaneRowsMinRows)
    return k.sparsemax_lanes(Z, rows, K, inv_t, P);
  k.sparsemax_rows(Z, rows, K, inv_t, P);
}

template <typename T>
void relumax_block(const T* Z, int64_t rows, int64_t K, T b, T inv_t, T* P) {
  const SimplexMapKernels<T>& k = table_for<T>(map_kernels_f32, map_kernels_f64);
  if (k.relumax_lanes != nullptr && K <= kRelumaxLaneRowsMaxK && rows >= kLaneRowsMinRows)
    return k.relumax_lanes(Z, rows, K, b, inv_t, P);
  k.relumax_rows(Z, rows, K, b, inv_t, P);
}

}  // namespace simplex_detail

using namespace simplex_detail;

template <typename T>
void softmax_forward(const T* Z, int64_t n, int64_t K, T* P, T inv_temperature) {
  for_row_blocks<T>(n, K, false, [&](int64_t r0, int64_t r1, T*) {
    softmax_block(Z + r0 * K, r1 - r0, K, inv_temperature, P + r0 * K);
  });
}

template <typename T>
void sparsemax_forward(const T* Z, int64_t n, int64_t K, T* P, T inv_temperature) {
  for_row_blocks<T>(n, K, false, [&](int64_t r0, int64_t r1, T*) {
    sparsemax_block(Z + r0 * K, r1 - r0, K, inv_temperature, P + r0 * K);
  });
}

template <typename T>
void relumax_forward(const T* Z, int64_t n, int64_t K, T b, T* P, T inv_temperature) {
  for_row_blocks<T>(n, K, false, [&](int64_t r0, int64_t r1, T*) {
    relumax_block(Z + r0 * K, r1 - r0, K, b, inv_temperature, P + r0 * K);
  });
}

template <typename T>
void sparsemax_threshold(const T* Z, int64_t n, int64_t K, T* tau, T inv_temperature) {
  for_row_blocks<T>(n, K, true, [&](int64_t r0, int64_t r1, T* y) {
    for (int64_t i = r0; i < r1; ++i) {
      const T* z = Z + i * K;
      const T m = checked_row_max(z, K);
      if (std::isnan(m)) {
        tau[i] = m;
        continue;
      }
      int64_t c = 0;
      for (int64_t k = 0; k < K; ++k) {
        const T v = (z[k] - m) * inv_temperature;
        y[c] = v;
        c += v > T(kCandidateFloor);
      }
      tau[i] = m * inv_temperature + threshold_of_candidates(y, c);
    }
  });
}

#define PYFASTNN_INSTANTIATE(T)                                                            \
  template void simplex_detail::softmax_block<T>(const T*, int64_t, int64_t, T, T*);       \
  template void simplex_detail::sparsemax_block<T>(const T*, int64_t, int64_t, T, T*);     \
  template void simplex_detail::relumax_block<T>(const T*, int64_t, int64_t, T, T, T*);    \
  template void softmax_forward<T>(const T*, int64_t, int64_t, T*, T);                     \
  template void sparsemax_forward<T>(const T*, int64_t, int64_t, T*, T);                   \
  template void relumax_forward<T>(const T*, int64_t, int64_t, T, T*, T);                  \
  template void sparsemax_threshold<T>(const T*, int64_t, int64_t, T*, T);
PYFASTNN_INSTANTIATE(float)
PYFASTNN_INSTANTIATE(double)
#undef PYFASTNN_INSTANTIATE

}  // namespace pyfastnn
