// The entmax row kernels, one template compiled per ISA (entmax_kernels.hpp):
// entmax15 and alpha-entmax forward rows, the Jacobian product rows. See
// simplex/entmax.cpp for the algorithm and docs/SPARSE_MAPS.md.
//
// Shapes: Z, P, V, out are row-major (rows, K); y (candidates) is (c).
//
// Everything here has internal linkage (an anonymous namespace): each ISA's file
// gets its own copy, so the linker can never pick one ISA's code for another.
// Loops marked `omp simd` are vectorised by the compiler at the file's ISA width
// (-fno-math-errno lets sqrt vectorise); the rest is scalar (the candidate
// gather and the passes over the few candidates).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>

#include "simplex/kernels/entmax_kernels.hpp"
#include "simplex/simplex_rows.hpp"

namespace pyfastnn {
namespace entmax_detail {
namespace {

using simplex_detail::kCandidateFloor;

template <typename T>
void fill_nan(T* row, int64_t K) {
  std::fill(row, row + K, std::numeric_limits<T>::quiet_NaN());
}

// Newton passes of entmax15 before the sort fallback (Gaussian logits settle the
// support in 2-5 passes at K = 26 .. 30000).
constexpr int kMaxEntmaxNewtonPasses = 16;
// Passes of the alpha-entmax search; bisection alone would need ~60 (double) to
// shrink [-1, 0] below rounding, Newton typically 3-8.
constexpr int kMaxEntmaxBisectPasses = 200;
// The search stops when a step or the bracket is below this many ulps of |tau|.
constexpr int kStopUlps = 2;

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

// Gathers y_k = (z_k - m) * scale for y_k > -1 into y[0, c) (y may be the output
// row: c <= k at step k); returns c, or -1 when the row's map is undefined.
template <typename T>
int64_t gather_candidates(const T* z, int64_t K, T scale, T* y, T* m_out) {
  const T m = checked_row_max(z, K);
  *m_out = m;
  if (std::isnan(m)) return -1;
  int64_t c = 0;
  for (int64_t k = 0; k < K; ++k) {
    const T v = (z[k] - m) * scale;
    y[c] = v;
    c += v > T(kCandidateFloor);
  }
  return c;
}

// entmax15 threshold by sorting y[0, c) (descending) and scanning the prefixes:
// tau_k = mean_k - sqrt((1 - ss_k) / k), the support the largest k with
// tau_k <= y_(k) (Peters, Niculae & Martins 2019, Algorithm 2).
template <typename T>
T entmax15_threshold_by_sort(T* y, int64_t c) {
  std::sort(y, y + c, std::greater<T>());
  T sum = 0, sum_sq = 0, tau = y[0] - 1;
  for (int64_t k = 0; k < c; ++k) {
    sum += y[k];
    sum_sq += y[k] * y[k];
    const T n = T(k + 1);
    const T mean = sum / n;
    const T ss = sum_sq - sum * mean;
    const T t = mean - std::sqrt(std::max((T(1) - ss) / n, T(0)));
    if (t <= y[k]) tau = t;
  }
  return tau;
}

// x^(e - 1) for d > 0 in the three cases the search distinguishes.
enum class Power { linear, square, general };  // e = 1 (alpha 2), e = 2 (alpha 1.5), else

template <Power kPower, typename T>
inline T pow_e_minus_1(T d, T e) {
  if constexpr (kPower == Power::linear) return T(1);
  else if constexpr (kPower == Power::square) return d;
  else return std::pow(d, e - T(1));
}

// Threshold of alpha-entmax on the candidates y[0, c): sum_i [y_i - tau]_+^e = 1.
// Reorders and overwrites y. Newton on (sum d^e)^(1/e) - 1, safeguarded for e < 1.
template <Power kPower, typename T>
T entmax_threshold(T* y, int64_t c, T e) {
  const bool convex = e >= T(1);
  const T eps = std::numeric_limits<T>::epsilon() * T(kStopUlps);
  T lo = T(-1), hi = T(0), tau = T(-1), width_before = T(2);
  int64_t n = c;
  for (int pass = 0; pass < kMaxEntmaxBisectPasses; ++pass) {
    int64_t kept = 0;
    T F = 0, S = 0;
    for (int64_t i = 0; i < n; ++i) {
      const T v = y[i];
      y[kept] = v;
      kept += v > lo;  // entries <= lo are below the threshold for good
      const T d = v - tau;
      const T q = d > T(0) ? pow_e_minus_1<kPower>(d, e) : T(0);
      S += q;
      F += q * (d > T(0) ? d : T(0));
    }
    n = kept;
    if (F == T(1)) return tau;
    (F > T(1) ? lo : hi) = tau;
    T next;
    if (S > T(0) && std::isfinite(S)) {
      const T G = kPower == Power::linear ? T(1) : std::pow(F, T(1) - T(1) / e);
      next = tau + (F - G) / S;
    } else {
      next = hi;  // no entry above tau (only after a bisection overshot): go back
    }
    if (convex) {
      if (!(next > tau) || next - tau <= eps * std::fabs(tau)) return std::max(next, tau);
      tau = std::min(next, hi);
      continue;
    }
    // e < 1: bisect when the step leaves the bracket or the bracket shrank too slowly
    const T width = hi - lo;
    if (!(next > lo && next < hi) || (pass % 2 == 1 && width > T(0.5) * width_before))
      next = lo + T(0.5) * width;
    if (pass % 2 == 1) width_before = width;
    if (width <= eps * std::fabs(lo) || next == tau) return lo;
    tau = next;
  }
  return lo;
}

// ---- row kernels ---------------------------------------------------------------------

// p = entmax15(z / T) = [z / (2T) - tau]_+^2 (exact threshold).
// Sums over the entries of the row with d = (z - m) * scale - tau > 0, in one
// vectorised pass over the row (no gather): how many, sum d, sum d^2, min d.
template <typename T>
struct Sweep {
  T count, s1, s2, dmin;
};

template <typename T>
Sweep<T> sweep(const T* z, int64_t K, T m, T scale, T tau) {
  T count = 0, s1 = 0, s2 = 0, dmin = std::numeric_limits<T>::infinity();
#pragma omp simd reduction(+ : count, s1, s2) reduction(min : dmin)
  for (int64_t k = 0; k < K; ++k) {
    const T d = (z[k] - m) * scale - tau;
    const bool in = d > T(0);
    const T dd = in ? d : T(0);
    count += in ? T(1) : T(0);
    s1 += dd;
    s2 += dd * dd;
    dmin = in && d < dmin ? d : dmin;
  }
  return {count, s1, s2, dmin};
}

// The threshold by sorting the candidates (y > -1) gathered into p: the fallback.
template <typename T>
T entmax15_threshold_of_row_by_sort(const T* z, int64_t K, T m, T scale, T* p) {
  int64_t c = 0;
  for (int64_t k = 0; k < K; ++k) {
    const T y = (z[k] - m) * scale;
    p[c] = y;
    c += y > T(kCandidateFloor);
  }
  return entmax15_threshold_by_sort(p, c);
}

// p = entmax15(z / T) = [z / (2T) - tau]_+^2 (exact threshold). The Newton passes
// of entmax15_threshold run as vectorised sweeps over the whole row (in cache):
// cheaper than gathering the candidates first, which is a scalar pass.
template <typename T>
void entmax15_row(const T* z, int64_t K, T inv_t, T* p) {
  const T m = checked_row_max(z, K);
  if (std::isnan(m)) return fill_nan(p, K);
  const T scale = T(0.5) * inv_t;
  T tau = T(-1);
  bool found = false;
  for (int pass = 0; pass < kMaxEntmaxNewtonPasses && !found; ++pass) {
    const Sweep<T> r = sweep(z, K, m, scale, tau);  // count >= 1: the max has d = -tau > 0
    const T mean = r.s1 / r.count;
    const T ss = r.s2 - r.s1 * mean;
    if (ss <= T(1)) {
      const T t = mean - std::sqrt((T(1) - ss) / r.count);  // closed form, relative to tau
      if (t <= r.dmin) {
        tau += t;
        found = true;
        break;
      }
    }
    const T step = (r.s2 - std::sqrt(r.s2)) / r.s1;  // Newton on sqrt(F) - 1
    if (!(step > T(0))) break;
    tau += step;
  }
  if (!found) tau = entmax15_threshold_of_row_by_sort(z, K, m, scale, p);
#pragma omp simd
  for (int64_t k = 0; k < K; ++k) {
    T d = (z[k] - m) * scale - tau;
    d = d > T(0) ? d : T(0);
    p[k] = d * d;
  }
}

template <Power kPower, typename T>
void entmax_bisect_row(const T* z, int64_t K, T alpha, T inv_t, T* p) {
  const T scale = (alpha - T(1)) * inv_t;
  const T e = T(1) / (alpha - T(1));
  T m, tau;
  if constexpr (kPower == Power::general) {  // pow per entry: gather the candidates once
    const int64_t c = gather_candidates(z, K, scale, p, &m);
    if (c < 0) return fill_nan(p, K);
    tau = entmax_threshold<kPower>(p, c, e);
  } else {  // e = 1 or 2, convex: Newton from below as vectorised sweeps of the row
    m = checked_row_max(z, K);
    if (std::isnan(m)) return fill_nan(p, K);
    const T eps = std::numeric_limits<T>::epsilon() * T(kStopUlps);
    tau = T(-1);
    for (int pass = 0; pass < kMaxEntmaxBisectPasses; ++pass) {
      const Sweep<T> r = sweep(z, K, m, scale, tau);
      const T F = kPower == Power::square ? r.s2 : r.s1;  // sum d^e
      const T S = kPower == Power::square ? r.s1 : r.count;  // sum d^(e - 1)
      if (!(F > T(1))) break;  // at the root, or past it by rounding
      const T G = kPower == Power::square ? std::sqrt(F) : T(1);  // F^(1 - 1/e)
      const T next = tau + (F - G) / S;
      if (!(next > tau) || next - tau <= eps * std::fabs(tau)) break;
      tau = next;
    }
  }
  T sum = 0;
  if constexpr (kPower == Power::general) {  // pow: scalar, on the support only
    for (int64_t k = 0; k < K; ++k) {
      const T d = (z[k] - m) * scale - tau;
      const T v = d > T(0) ? std::pow(d, e) : T(0);
      p[k] = v;
      sum += v;
    }
  } else {
#pragma omp simd reduction(+ : sum)
    for (int64_t k = 0; k < K; ++k) {
      T d = (z[k] - m) * scale - tau;
      d = d > T(0) ? d : T(0);
      const T v = kPower == Power::square ? d * d : d;
      p[k] = v;
      sum += v;
    }
  }
  const T inv_sum = T(1) / sum;
#pragma omp simd
  for (int64_t k = 0; k < K; ++k) p[k] *= inv_sum;
}

template <typename T>
void entmax_bisect_block(const T* Z, int64_t rows, int64_t K, T alpha, T inv_t, T* P) {
  // exponent 1 and 2 need no pow (alpha = 2 and 1.5 exactly)
  if (alpha == T(2)) {
    for (int64_t i = 0; i < rows; ++i)
      entmax_bisect_row<Power::linear>(Z + i * K, K, alpha, inv_t, P + i * K);
  } else if (alpha == T(1.5)) {
    for (int64_t i = 0; i < rows; ++i)
      entmax_bisect_row<Power::square>(Z + i * K, K, alpha, inv_t, P + i * K);
  } else {
    for (int64_t i = 0; i < rows; ++i)
      entmax_bisect_row<Power::general>(Z + i * K, K, alpha, inv_t, P + i * K);
  }
}

template <typename T>
void entmax15_block(const T* Z, int64_t rows, int64_t K, T inv_t, T* P) {
  for (int64_t i = 0; i < rows; ++i) entmax15_row(Z + i * K, K, inv_t, P + i * K);
}

// out = s (v - <s, v> / sum s) / T with s = p^(2 - alpha) on the support: J is
// symmetric, so this is the JVP and the VJP. v outside the support is selected
// away (never multiplied: a NaN there stays out). kPower: s = 1 (alpha 2), sqrt p
// (alpha 1.5), pow (else; then s is kept in out between the passes unless out is v).
template <Power kPower, typename T>
void entmax_product_row(const T* p, const T* v, int64_t K, T alpha, T inv_t, T* out) {
  T sum_p = 0, sum_s = 0, sum_sv = 0;  // sum_p: NaN iff the row of P has a NaN
  const bool keep_s = kPower == Power::general && out != v;
  if constexpr (kPower == Power::general) {
    for (int64_t k = 0; k < K; ++k) {
      const T pk = p[k];
      sum_p += pk;
      const T s = pk > T(0) ? std::pow(pk, T(2) - alpha) : T(0);
      if (keep_s) out[k] = s;
      sum_s += s;
      sum_sv += pk > T(0) ? s * v[k] : T(0);
    }
  } else {
#pragma omp simd reduction(+ : sum_p, sum_s, sum_sv)
    for (int64_t k = 0; k < K; ++k) {
      const T pk = p[k];
      sum_p += pk;
      const bool in = pk > T(0);
      const T s = kPower == Power::square ? std::sqrt(in ? pk : T(0)) : (in ? T(1) : T(0));
      sum_s += s;
      sum_sv += in ? s * v[k] : T(0);
    }
  }
  if (sum_p != sum_p) return fill_nan(out, K);
  const T mean = sum_s > T(0) ? sum_sv / sum_s : T(0);
  if (keep_s) {
#pragma omp simd
    for (int64_t k = 0; k < K; ++k) out[k] = out[k] > T(0) ? out[k] * (v[k] - mean) * inv_t : T(0);
  } else if constexpr (kPower == Power::general) {
    for (int64_t k = 0; k < K; ++k)
      out[k] = p[k] > T(0) ? std::pow(p[k], T(2) - alpha) * (v[k] - mean) * inv_t : T(0);
  } else {
#pragma omp simd
    for (int64_t k = 0; k < K; ++k) {
      const T pk = p[k];
      const bool in = pk > T(0);
      const T s = kPower == Power::square ? std::sqrt(in ? pk : T(0)) : T(1);
      out[k] = in ? s * (v[k] - mean) * inv_t : T(0);
    }
  }
}

template <typename T>
void product_rows(const T* P, const T* V, int64_t rows, int64_t K, T alpha, T inv_t, T* out) {
  for (int64_t i = 0; i < rows; ++i) {
    const T* p = P + i * K;
    const T* v = V + i * K;
    T* o = out + i * K;
    if (alpha == T(2))
      entmax_product_row<Power::linear>(p, v, K, alpha, inv_t, o);
    else if (alpha == T(1.5))
      entmax_product_row<Power::square>(p, v, K, alpha, inv_t, o);
    else
      entmax_product_row<Power::general>(p, v, K, alpha, inv_t, o);
  }
}

template <typename T>
EntmaxKernels<T> make_kernels() {
  EntmaxKernels<T> k;
  k.entmax15_rows = entmax15_block<T>;
  k.bisect_rows = entmax_bisect_block<T>;
  k.product_rows = product_rows<T>;
  return k;
}

}  // namespace
}  // namespace entmax_detail
}  // namespace pyfastnn
