// entmax15 and alpha-entmax: forward maps, Jacobian products, Fenchel-Young
// losses. See simplex.hpp for the API and conventions, docs/SPARSE_MAPS.md for
// the algorithm.
//
// Shapes: Z, P, V, G, out, dZ are row-major (n, K); y, loss_rows are (n).
//
// alpha-entmax (Peters, Niculae & Martins 2019; Blondel, Martins & Niculae 2020):
//   p = [y - tau]_+^e,  y = (alpha - 1) (z - max z) / T,  e = 1 / (alpha - 1),
//   tau the unique number with sum_i [y_i - tau]_+^e = 1. The largest entry is 0
//   and alone reaches 1 at tau = -1, so tau in [-1, 0) and only the candidates
//   y_i > -1 can be in the support (as for sparsemax, which is alpha = 2).
//
// Threshold search on the candidates, without sorting the row: Newton's method on
//   G(tau) = (sum_i [y_i - tau]_+^e)^(1/e) - 1,
// an e-norm of the convex functions [y_i - tau]_+, hence convex and decreasing for
// e >= 1 (alpha <= 2): from tau = -1 (below the root) the iterates rise
// monotonically to tau without overshooting. With F = sum d^e, S = sum d^(e-1)
// (d = y - tau > 0) the step is (F - F^(1 - 1/e)) / S; for alpha = 2 it is
// Michelot's iteration, for alpha = 1.5 it is (F - sqrt F) / sum d. Entries at or
// below the current tau can never return to the support and are dropped
// (compacted away) at each pass. For alpha > 2 G is not convex: the step is
// safeguarded by a bracket [lo, hi] and bisection (as in Numerical Recipes'
// rtsafe) whenever it leaves the bracket or the bracket stops shrinking.
//
// entmax15 (alpha = 1.5) is exact: once the set of kept entries is the support,
// tau is the closed form of Peters et al. (2019), mean - sqrt((1 - ss) / k), and a
// pass accepts it when it is <= every kept entry (then no entry outside the set
// can enter either, so it is the threshold); the Newton passes only find the set.
// If kMaxEntmaxNewtonPasses passes do not settle it, the few entries left are
// sorted and scanned (the sort-based algorithm): O(K) typical, O(K log K) worst.
#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>

#include "simplex/simplex.hpp"
#include "simplex/simplex_internal.hpp"
#include "simplex/simplex_rows.hpp"

namespace pyfastnn {

using namespace simplex_detail;

namespace {

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
  bool nan = false;
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

// Threshold of entmax15 on the candidates y[0, c) (values in (-1, 0], one of them
// 0): the tau with sum_i [y_i - tau]_+^2 = 1. Reorders and overwrites y.
template <typename T>
T entmax15_threshold(T* y, int64_t c) {
  T tau = T(-1);
  int64_t n = c;
  for (int pass = 0; pass < kMaxEntmaxNewtonPasses; ++pass) {
    // d = y - tau on the kept set, summed relative to tau (no cancellation near tau)
    int64_t kept = 0;
    T s1 = 0, s2 = 0, dmin = std::numeric_limits<T>::infinity();
    for (int64_t i = 0; i < n; ++i) {
      const T v = y[i];
      y[kept] = v;
      const bool in = v > tau;
      kept += in;
      const T d = in ? v - tau : T(0);
      s1 += d;
      s2 += d * d;
      dmin = in ? std::min(dmin, d) : dmin;
    }
    n = kept;  // >= 1: the entry 0 is kept (tau < 0)
    const T k = T(n);
    const T mean = s1 / k;
    const T ss = s2 - s1 * mean;  // sum of squared deviations on the kept set
    if (ss <= T(1)) {
      const T t = mean - std::sqrt((T(1) - ss) / k);  // closed form, relative to tau
      if (t <= dmin) return tau + t;
    }
    const T step = (s2 - std::sqrt(s2)) / s1;  // Newton on sqrt(F) - 1
    if (!(step > T(0))) break;
    tau += step;
  }
  return entmax15_threshold_by_sort(y, n);
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
template <typename T>
void entmax15_row(const T* z, int64_t K, T inv_t, T* p) {
  const T scale = T(0.5) * inv_t;
  T m;
  const int64_t c = gather_candidates(z, K, scale, p, &m);
  if (c < 0) return fill_nan(p, K);
  const T tau = entmax15_threshold(p, c);
  for (int64_t k = 0; k < K; ++k) {
    const T d = std::max((z[k] - m) * scale - tau, T(0));
    p[k] = d * d;
  }
}

// p = entmax_alpha(z / T) = [(alpha - 1) z / T - tau]_+^(1 / (alpha - 1)), normalised
// to sum 1 after the search (the remaining rounding of tau moves every p alike).
template <Power kPower, typename T>
void entmax_bisect_row(const T* z, int64_t K, T alpha, T inv_t, T* p) {
  const T scale = (alpha - T(1)) * inv_t;
  const T e = T(1) / (alpha - T(1));
  T m;
  const int64_t c = gather_candidates(z, K, scale, p, &m);
  if (c < 0) return fill_nan(p, K);
  const T tau = entmax_threshold<kPower>(p, c, e);
  T sum = 0;
  for (int64_t k = 0; k < K; ++k) {
    const T d = (z[k] - m) * scale - tau;
    const T v = d > T(0) ? pow_e_minus_1<kPower>(d, e) * d : T(0);
    p[k] = v;
    sum += v;
  }
  const T inv_sum = T(1) / sum;
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

// s = p^(2 - alpha) on the support (sqrt for 1.5, 1 for 2), 0 elsewhere.
template <typename T>
inline T support_weight(T p, T alpha) {
  if (!(p > T(0))) return T(0);
  if (alpha == T(1.5)) return std::sqrt(p);
  if (alpha == T(2)) return T(1);
  return std::pow(p, T(2) - alpha);
}

// out = s (v - <s, v> / sum s) / T: J = diag(s) - s s^T / sum s is symmetric, so
// this is the JVP and the VJP. v outside the support is selected away.
template <typename T>
void entmax_product_row(const T* p, const T* v, int64_t K, T alpha, T inv_t, T* out) {
  bool nan = false;
  T sum_s = 0, sum_sv = 0;
  for (int64_t k = 0; k < K; ++k) {
    nan |= p[k] != p[k];
    const T s = support_weight(p[k], alpha);
    sum_s += s;
    sum_sv += p[k] > T(0) ? s * v[k] : T(0);
  }
  if (nan) return fill_nan(out, K);
  const T mean = sum_s > T(0) ? sum_sv / sum_s : T(0);
  for (int64_t k = 0; k < K; ++k) {
    const T s = support_weight(p[k], alpha);
    out[k] = p[k] > T(0) ? s * (v[k] - mean) * inv_t : T(0);
  }
}

// Tsallis entropy term of the loss: (1 - sum p^alpha) / (alpha (alpha - 1)).
template <typename T>
double tsallis(const T* p, int64_t K, T alpha) {
  double sum = 0;
  for (int64_t k = 0; k < K; ++k)
    if (p[k] > T(0)) sum += double(p[k]) * double(support_weight(p[k], T(2) - (alpha - T(1))));
  // p^alpha = p * p^(alpha - 1) and p^(alpha - 1) = support_weight(p, 3 - alpha)
  const double a = double(alpha);
  return (1.0 - sum) / (a * (a - 1.0));
}

}  // namespace

template <typename T>
void entmax15_forward(const T* Z, int64_t n, int64_t K, T* P, T inv_temperature) {
  for_row_blocks<T>(n, K, false, [&](int64_t r0, int64_t r1, T*) {
    entmax15_block(Z + r0 * K, r1 - r0, K, inv_temperature, P + r0 * K);
  });
}

template <typename T>
void entmax_bisect_forward(const T* Z, int64_t n, int64_t K, T alpha, T* P, T inv_temperature) {
  for_row_blocks<T>(n, K, false, [&](int64_t r0, int64_t r1, T*) {
    entmax_bisect_block(Z + r0 * K, r1 - r0, K, alpha, inv_temperature, P + r0 * K);
  });
}

template <typename T>
void entmax_product_from_output(const T* P, const T* V, int64_t n, int64_t K, T alpha, T* out,
                                T inv_temperature) {
  for_row_blocks<T>(n, K, false, [&](int64_t r0, int64_t r1, T*) {
    for (int64_t i = r0; i < r1; ++i)
      entmax_product_row(P + i * K, V + i * K, K, alpha, inv_temperature, out + i * K);
  });
}

// loss = sum_{j in S} p_j (z_j - z_y) / T + (1 - sum p^alpha) / (alpha (alpha - 1)),
// which is <p, z/T> + H_alpha(p) - z_y / T since sum p = 1 (no shift by max z needed);
// grad = scale (p - e_y) / T, written over p in place.
template <typename T>
double entmax_loss(bool exact15, const T* Z, const int64_t* y, int64_t n, int64_t K, T alpha,
                   T* loss_rows, T* dZ, T scale, T inv_t) {
  return sum_over_row_blocks<T>(n, K, dZ == nullptr, [&](int64_t r0, int64_t r1, T* scratch) {
    double total = 0;
    for (int64_t i = r0; i < r1; ++i) {
      const T* z = Z + i * K;
      T* p = dZ ? dZ + i * K : scratch;
      if (exact15)
        entmax15_block(z, 1, K, inv_t, p);
      else
        entmax_bisect_block(z, 1, K, alpha, inv_t, p);
      double loss;
      if (std::isnan(p[0])) {
        loss = std::numeric_limits<double>::quiet_NaN();
        if (dZ) fill_nan(p, K);
      } else {
        const double zy = z[y[i]];
        loss = tsallis(p, K, alpha);
        for (int64_t k = 0; k < K; ++k)
          if (p[k] > T(0)) loss += double(p[k]) * (double(z[k]) - zy) * double(inv_t);
        if (dZ) {
          const T g = scale * inv_t;
          for (int64_t k = 0; k < K; ++k) p[k] = g * (p[k] - (k == y[i] ? T(1) : T(0)));
        }
      }
      if (loss_rows) loss_rows[i] = T(loss);
      total += loss;
    }
    return total;
  });
}

template <typename T>
double entmax15_loss(const T* Z, const int64_t* y, int64_t n, int64_t K, T* loss_rows, T* dZ,
                     T scale, T inv_temperature) {
  return entmax_loss(true, Z, y, n, K, T(1.5), loss_rows, dZ, scale, inv_temperature);
}

template <typename T>
double entmax_bisect_loss(const T* Z, const int64_t* y, int64_t n, int64_t K, T alpha,
                          T* loss_rows, T* dZ, T scale, T inv_temperature) {
  return entmax_loss(false, Z, y, n, K, alpha, loss_rows, dZ, scale, inv_temperature);
}

#define PYFASTNN_INSTANTIATE(T)                                                                \
  template void entmax15_forward<T>(const T*, int64_t, int64_t, T*, T);                        \
  template void entmax_bisect_forward<T>(const T*, int64_t, int64_t, T, T*, T);                \
  template void entmax_product_from_output<T>(const T*, const T*, int64_t, int64_t, T, T*, T); \
  template double entmax15_loss<T>(const T*, const int64_t*, int64_t, int64_t, T*, T*, T, T);   \
  template double entmax_bisect_loss<T>(const T*, const int64_t*, int64_t, int64_t, T, T*, T*, \
                                        T, T);
PYFASTNN_INSTANTIATE(float)
PYFASTNN_INSTANTIATE(double)
#undef PYFASTNN_INSTANTIATE

}  // namespace pyfastnn
