// Alpha-entmax rows of any length with a vector pow (alpha not 1.5 or 2; the map
// for 1 < alpha < 2), one template for AVX2 and AVX-512 (S = simd::avx2::F32, ...,
// simd::avx512::F64), included by entmax_lanes.hpp after entmax_template.hpp,
// whose entmax_bisect_row / entmax_product_row are their reference.
//
// Shapes: z, p, v, out are rows of K entries; a call on a block of rows takes two
// scratch rows of K + W entries (Scratch below).
//
//   map:     the candidates y = (z - max z) (alpha - 1) / T > -1 are gathered W at a
//            time (compress + store). With >= kWarmStartMinCandidates of them the
//            search starts one Newton step below their sparsemax threshold tau_1
//            (for alpha < 2, d <= 1 gives d^e <= d, so tau_1 lies at or above the
//            root; by convexity one Newton step from above lands at or below it),
//            the pass at tau_1 seeing only the entries above tau_1. Each pass then
//            drops the candidates at or below the last tau known to lie below the
//            root (in one pass without a pow) and computes one pow per kept entry,
//            W at a time: d^(e - 1) for Newton's step, or for e > 2 (alpha < 1.5)
//            d^(e - 2), whose sum gives Halley's step (cubic: 3 passes instead of
//            4 on Gaussian rows) at the price of a product. When the search stops
//            at the tau of its last pass, that pass's d^e, kept in row order, are
//            the unnormalised output: they go back to the kept positions (found
//            again from z with the same arithmetic as the gather; expand + store),
//            with no pow after the search.
//   product: the support (p > 0) is gathered with its v, s = p^(2 - alpha) and the
//            two sums computed on the gathered entries only, and the result
//            s (v - <s, v> / sum s) / T written back to the support's positions.
//
// Against the std::pow row kernels: within a few ulp of the row's largest entry
// (tests/test_entmax_lanes.py). Row order of every sum is fixed (W partial sums,
// then across lanes), so results do not depend on the thread count.
#pragma once

#ifdef PYFASTNN_X86

#include <cmath>
#include <cstdint>
#include <limits>

#include "simd/vec_math.hpp"
#include "simplex/kernels/entmax_template.hpp"

namespace pyfastnn {
namespace entmax_detail {
namespace {

// Fewest candidates for the start from the sparsemax threshold: single thread,
// alpha 1.3, float32 Gaussian rows, min of 15: K = 1000 (~530 candidates) 63 ->
// 55 ms, K = 30000 30 -> 27 ms per 10^7 entries; slower at K = 26 (228 -> 332).
constexpr int64_t kWarmStartMinCandidates = 128;
// The sparsemax threshold's passes before the warm start gives up (Michelot's
// iteration settles in ~8 passes at K = 1000).
constexpr int kMaxMichelotPasses = 32;

// Two rows of scratch for one call, each K + W entries: a whole vector may be
// stored at or loaded from any place before K (plain new[]: no standard-library
// template is instantiated in an ISA's file, see entmax_template.hpp).
template <typename T, int W>
struct Scratch {
  explicit Scratch(int64_t K) : a(new T[static_cast<size_t>(2 * (K + W))]), b(a + K + W) {}
  ~Scratch() { delete[] a; }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  T* a;
  T* b;
};

// Appends the lanes of v set in `bits` to y[c, ...) (in order); returns the new c.
// Stores a whole vector at y + c (y is scratch with W entries to spare); y + c may
// be the place v was loaded from or before it (in-place compaction).
template <typename S>
inline int64_t append_lanes(typename S::T* y, int64_t c, typename S::V v, unsigned bits) {
  S::storeu(y + c, S::compress(v, bits));
  return c + __builtin_popcount(bits);
}

// dst[0, min(left, W)) = the next values of src (from *j) in the lanes set in
// bits, zeros in the others: the inverse of append_lanes, without a branch.
template <typename S>
inline void write_lanes(typename S::T* dst, int64_t left, unsigned bits, const typename S::T* src,
                        int64_t* j) {
  const auto v = S::expand(S::loadu(src + *j), bits);  // src: scratch, W to spare
  if (left >= S::W)
    S::storeu(dst, v);
  else
    S::maskstore(dst, S::mask(left), v);
  *j += __builtin_popcount(bits);
}

// y (the W entries of z at k, `left` of them real) = (z - m) * scale, the same
// arithmetic wherever the candidates are compared with a threshold.
template <typename S>
inline typename S::V shifted(const typename S::T* z, int64_t left, typename S::V vm,
                             typename S::V vs) {
  return S::mul(S::sub(S::maskload(z, S::mask(left)), vm), vs);
}

// The candidates of the row: y[0, c) = (z - m) * scale where > -1; returns c, or
// -1 when the row has a NaN, a +inf or only -inf entries.
template <typename S>
int64_t gather_candidates_vec(const typename S::T* z, int64_t K, typename S::T scale,
                              typename S::T* y, typename S::T* m_out) {
  using T = typename S::T;
  using V = typename S::V;
  constexpr int W = S::W;
  const T m = checked_row_max(z, K);
  *m_out = m;
  if (std::isnan(m)) return -1;
  const V vm = S::set1(m), vs = S::set1(scale), floor = S::set1(T(kCandidateFloor));
  int64_t c = 0;
  for (int64_t k = 0; k < K; k += W) {
    const V v = shifted<S>(z + k, K - k, vm, vs);
    c = append_lanes<S>(y, c, v, S::bits(S::both(S::gt(v, floor), S::lanes_below(K - k))));
  }
  return c;
}

// Keeps the entries of y[0, c) above tau in y[0, n), in order; returns n. No pow:
// the passes below then compute powers of whole vectors of kept entries only.
template <typename S>
inline int64_t keep_above(typename S::T* y, int64_t c, typename S::T tau) {
  constexpr int W = S::W;
  const auto vtau = S::set1(tau);
  int64_t n = 0;
  for (int64_t i = 0; i < c; i += W) {
    const auto v = S::maskload(y + i, S::mask(c - i));
    n = append_lanes<S>(y, n, v, S::bits(S::both(S::gt(v, vtau), S::lanes_below(c - i))));
  }
  return n;
}

// Halley's step is Newton's times 1 / (1 - L / 2), L = G G'' / G'^2 for
// G(tau) = F^(1/e) - 1, F = sum d^e: with h = F^(1 - 1/e), Sd = sum d^(e - 1) and
// S2 = sum d^(e - 2), L = (F - h) (e - 1) (F S2 - Sd^2) / (F Sd^2), of the sign of
// F - 1 (F S2 >= Sd^2 by Cauchy-Schwarz) and -> 0 at the root (cubic convergence).
// Used for kHalleyLeast <= L < 1: below the root (F > 1) wherever the step stays
// short of the pole; above it (after a step past the root) only near the root,
// where it damps Newton's step; otherwise Newton's step (factor 1), which from
// above the root goes back below.
constexpr double kHalleyLeast = -0.25;

template <typename T>
inline T halley_factor(T F, T h, T Sd, T S2, T e) {
  const T L = (F - h) * (e - T(1)) * (F * S2 - Sd * Sd) / (F * Sd * Sd);
  return L >= T(kHalleyLeast) && L < T(1) ? T(1) / (T(1) - T(0.5) * L) : T(1);
}

template <typename S>
inline typename S::V halley_factor_v(typename S::V F, typename S::V h, typename S::V Sd,
                                     typename S::V S2, typename S::T e) {
  using T = typename S::T;
  using V = typename S::V;
  const V one = S::set1(T(1));
  const V spread = S::fnmadd(Sd, Sd, S::mul(F, S2));  // F S2 - Sd^2
  const V L = S::div(S::mul(S::mul(S::sub(F, h), S::set1(e - T(1))), spread),
                     S::mul(F, S::mul(Sd, Sd)));
  const V factor = S::div(one, S::fnmadd(S::set1(T(0.5)), L, one));
  const auto ok = S::both(S::ge(L, S::set1(T(kHalleyLeast))), S::gt(one, L));
  return S::select(one, ok, factor);
}

// Sums of one pass at tau over y[0, n) (entries above some tau' <= tau): F = sum
// d^e, Sd = sum d^(e - 1) and, for Halley's step, S2 = sum d^(e - 2), over d = y -
// tau > 0; w[0, n) = d^e (0 where d <= 0). One pow per entry: d^(e - 1), or
// d^(e - 2) (kHalley) times d. w may be y (each vector is read, then written in
// its place).
template <typename T>
struct PowerSums {
  T F, Sd, S2;
};

template <typename S, bool kHalley>
inline PowerSums<typename S::T> power_pass(const typename S::T* y, int64_t n, typename S::T tau,
                                        typename S::T e, typename S::T* w) {
  using T = typename S::T;
  using V = typename S::V;
  constexpr int W = S::W;
  const V vtau = S::set1(tau), zero = S::zero(), vpow = S::set1(e - T(kHalley ? 2 : 1));
  V F = zero, Sd = zero, S2 = zero;
  for (int64_t i = 0; i < n; i += W) {
    const V d = S::sub(S::loadu(y + i), vtau);  // past n: scratch, not summed
    const auto in = S::both(S::gt(d, zero), S::lanes_below(n - i));
    V q = simd::pow_pos<S>(simd::at_least_normal<S>(d), vpow);
    if constexpr (kHalley) {
      S2 = S::add_if(S2, in, q);
      q = S::mul(q, d);
    }
    const V qd = S::zero_unless(in, S::mul(q, d));
    Sd = S::add_if(Sd, in, q);
    F = S::add(F, qd);
    S::storeu(w + i, qd);
  }
  return {S::hsum(F), S::hsum(Sd), S::hsum(S2)};
}

// The sparsemax threshold of the candidates y[0, c) (Michelot's iteration from -1:
// no pow), with the entries above it in kept[0, *n); y is not changed. NaN when it
// has not settled in kMaxMichelotPasses.
template <typename S>
typename S::T sparsemax_threshold_of(const typename S::T* y, int64_t c, typename S::T* kept,
                                     int64_t* n_kept) {
  using T = typename S::T;
  using V = typename S::V;
  constexpr int W = S::W;
  T tau = T(-1);
  int64_t count = -1;
  const T* from = y;
  for (int pass = 0; pass < kMaxMichelotPasses; ++pass) {
    const V vtau = S::set1(tau);
    V sum = S::zero();
    int64_t n = 0;
    for (int64_t i = 0; i < c; i += W) {
      const V v = S::maskload(from + i, S::mask(c - i));
      const auto in = S::both(S::gt(v, vtau), S::lanes_below(c - i));
      sum = S::add_if(sum, in, v);
      n = append_lanes<S>(kept, n, v, S::bits(in));
    }
    *n_kept = n;
    if (n == count) return tau;  // the set only shrinks: same size, same set
    count = c = n;
    from = kept;
    tau = (S::hsum(sum) - T(1)) / T(n);
  }
  return std::numeric_limits<T>::quiet_NaN();
}

// Where the search of one row stopped. When it stopped at the tau of its last
// pass (n >= 0), w[0, n) holds d^e of that pass for the entries y > kept_above
// (in row order; 0 where y <= tau) and F their sum; otherwise n = -1 and the
// caller computes d^e itself.
template <typename T>
struct RowThreshold {
  T tau, kept_above;
  int64_t n;
  T F;
};

// Threshold of alpha-entmax (1 < alpha < 2) on the candidates y[0, c) (reordered,
// overwritten): Newton (or Halley, kHalley) from the warm start above. Each pass
// first drops the entries at or below the last tau known to lie below the root
// (F > 1 there; Halley's step may pass the root by a hair, Newton's never does).
template <typename S, bool kHalley>
RowThreshold<typename S::T> general_row_threshold(typename S::T* y, int64_t c, typename S::T e,
                                                  typename S::T* w) {
  using T = typename S::T;
  const T eps = std::numeric_limits<T>::epsilon() * T(kStopUlps);
  const T g = T(1) - T(1) / e;  // h = F^g
  T tau = T(-1), lo = T(-1);
  int64_t above = 0;  // entries above tau_1, in w
  const T tau_1 =
      c >= kWarmStartMinCandidates ? sparsemax_threshold_of<S>(y, c, w, &above) : T(-1);
  if (tau_1 > T(-1) && tau_1 < T(0)) {
    const PowerSums<T> r = power_pass<S, false>(w, above, tau_1, e, w);
    if (!(r.F < T(1))) return {tau_1, tau_1, -1, T(0)};  // the root itself (to rounding)
    const T below = tau_1 + (r.F - std::pow(r.F, g)) / r.Sd;  // from above: lands below
    if (below > T(-1)) tau = lo = below;
  }
  for (int pass = 0; pass < kMaxEntmaxBisectPasses; ++pass) {
    c = keep_above<S>(y, c, lo);  // entries <= lo: out for good
    const PowerSums<T> r = power_pass<S, kHalley>(y, c, tau, e, w);
    const RowThreshold<T> here{tau, lo, c, r.F};
    if (r.F == T(1) || !(r.Sd > T(0))) return here;
    const T h = std::pow(r.F, g);
    T step = (r.F - h) / r.Sd;  // Newton's
    if constexpr (kHalley) {
      step *= halley_factor(r.F, h, r.Sd, r.S2, e);
      if (std::fabs(step) <= eps * std::fabs(tau)) return here;
    } else if (!(r.F > T(1)) || !(step > eps * std::fabs(tau))) {
      return here;  // at the root, or past it by rounding
    }
    if (r.F > T(1)) lo = tau;
    tau += step;
  }
  return {tau, lo, -1, T(0)};
}

// p = [y - tau]_+^e / sum, every entry by pow (the rare stops without a last pass
// at tau; vectors with no entry above tau cost no pow).
template <typename S>
void write_by_pow(const typename S::T* z, int64_t K, typename S::T m, typename S::T scale,
                  typename S::T tau, typename S::T e, typename S::T* p) {
  using T = typename S::T;
  using V = typename S::V;
  constexpr int W = S::W;
  const V vm = S::set1(m), vs = S::set1(scale), vtau = S::set1(tau), ve = S::set1(e);
  const V zero = S::zero();
  V sum = zero;
  for (int64_t k = 0; k < K; k += W) {
    const V y = shifted<S>(z + k, K - k, vm, vs);
    const auto in = S::both(S::gt(y, vtau), S::lanes_below(K - k));
    V v = zero;
    if (S::bits(in) != 0) {
      v = S::zero_unless(in, simd::pow_pos<S>(simd::at_least_normal<S>(S::sub(y, vtau)), ve));
      sum = S::add(sum, v);
    }
    S::maskstore(p + k, S::mask(K - k), v);
  }
  const V inv_sum = S::set1(T(1) / S::hsum(sum));
  for (int64_t k = 0; k < K; k += W) {
    const auto lanes = S::mask(K - k);
    S::maskstore(p + k, lanes, S::mul(S::maskload(p + k, lanes), inv_sum));
  }
}

// p = alpha-entmax(z / T) for one row; y, w: scratch of K entries each.
template <typename S>
void general_bisect_row(const typename S::T* z, int64_t K, typename S::T alpha,
                        typename S::T inv_t, typename S::T* p, typename S::T* y,
                        typename S::T* w) {
  using T = typename S::T;
  using V = typename S::V;
  constexpr int W = S::W;
  const T scale = (alpha - T(1)) * inv_t;
  const T e = T(1) / (alpha - T(1));
  T m;
  const int64_t c = gather_candidates_vec<S>(z, K, scale, y, &m);
  if (c < 0) return fill_nan(p, K);
  const RowThreshold<T> r = e > T(2) ? general_row_threshold<S, true>(y, c, e, w)
                                      : general_row_threshold<S, false>(y, c, e, w);
  if (r.n < 0) return write_by_pow<S>(z, K, m, scale, r.tau, e, p);
  const V inv_sum = S::set1(T(1) / r.F);
  for (int64_t i = 0; i < r.n; i += W) S::storeu(w + i, S::mul(S::loadu(w + i), inv_sum));
  // back to the positions y > kept_above: the entries of the last pass, in row order
  const V vm = S::set1(m), vs = S::set1(scale), vlo = S::set1(r.kept_above);
  int64_t j = 0;
  for (int64_t k = 0; k < K; k += W) {
    const V yk = shifted<S>(z + k, K - k, vm, vs);
    const unsigned bits = S::bits(S::both(S::gt(yk, vlo), S::lanes_below(K - k)));
    if (j + __builtin_popcount(bits) > r.n) break;  // cannot happen (same arithmetic)
    write_lanes<S>(p + k, K - k, bits, w, &j);
  }
  if (j != r.n) write_by_pow<S>(z, K, m, scale, r.tau, e, p);
}

template <typename S>
void bisect_rows_fast(const typename S::T* Z, int64_t rows, int64_t K, typename S::T alpha,
                      typename S::T inv_t, typename S::T* P) {
  using T = typename S::T;
  if (alpha == T(2) || alpha == T(1.5) || alpha > T(2))  // no pow, or the safeguarded search
    return entmax_bisect_block(Z, rows, K, alpha, inv_t, P);
  Scratch<T, S::W> scratch(K);
  for (int64_t i = 0; i < rows; ++i)
    general_bisect_row<S>(Z + i * K, K, alpha, inv_t, P + i * K, scratch.a, scratch.b);
}

// out = s (v - <s, v> / sum s) / T, s = p^(2 - alpha) on the support, for one row;
// out may be p or v. sp, sv: scratch of K entries each (the support's p then s, v).
template <typename S>
void general_product_row(const typename S::T* p, const typename S::T* v, int64_t K,
                         typename S::T alpha, typename S::T inv_t, typename S::T* out,
                         typename S::T* sp, typename S::T* sv) {
  using T = typename S::T;
  using V = typename S::V;
  constexpr int W = S::W;
  const V zero = S::zero(), power = S::set1(T(2) - alpha);
  V sum_p = zero;  // NaN iff the row of P has a NaN
  int64_t c = 0;
  for (int64_t k = 0; k < K; k += W) {
    const auto lanes = S::mask(K - k);
    const V pk = S::maskload(p + k, lanes);
    sum_p = S::add(sum_p, pk);
    const unsigned bits = S::bits(S::gt(pk, zero));  // zeros past K
    append_lanes<S>(sv, c, S::maskload(v + k, lanes), bits);  // v off the support never read
    c = append_lanes<S>(sp, c, pk, bits);
  }
  const T total_p = S::hsum(sum_p);
  if (total_p != total_p) return fill_nan(out, K);
  V sum_s = zero, sum_sv = zero;
  for (int64_t i = 0; i < c; i += W) {
    const auto lanes = S::mask(c - i);
    const auto live = S::lanes_below(c - i);
    const V s = simd::pow_pos<S>(simd::at_least_normal<S>(S::maskload(sp + i, lanes)), power);
    S::maskstore(sp + i, lanes, s);
    sum_s = S::add_if(sum_s, live, s);
    sum_sv = S::add_if(sum_sv, live, S::mul(s, S::maskload(sv + i, lanes)));
  }
  const T total_s = S::hsum(sum_s);
  const V mean = S::set1(total_s > T(0) ? S::hsum(sum_sv) / total_s : T(0));
  const V vi = S::set1(inv_t);
  for (int64_t i = 0; i < c; i += W) {
    const auto lanes = S::mask(c - i);
    const V r = S::mul(S::mul(S::maskload(sp + i, lanes), S::sub(S::maskload(sv + i, lanes), mean)), vi);
    S::maskstore(sp + i, lanes, r);
  }
  int64_t j = 0;  // back to the support's positions (p is read before out is written)
  for (int64_t k = 0; k < K; k += W) {
    const unsigned bits = S::bits(S::gt(S::maskload(p + k, S::mask(K - k)), zero));
    write_lanes<S>(out + k, K - k, bits, sp, &j);
  }
}

template <typename S>
void product_rows_fast(const typename S::T* P, const typename S::T* Vs, int64_t rows, int64_t K,
                       typename S::T alpha, typename S::T inv_t, typename S::T* out) {
  using T = typename S::T;
  if (alpha == T(2) || alpha == T(1.5)) return product_rows(P, Vs, rows, K, alpha, inv_t, out);
  Scratch<T, S::W> scratch(K);
  for (int64_t i = 0; i < rows; ++i)
    general_product_row<S>(P + i * K, Vs + i * K, K, alpha, inv_t, out + i * K, scratch.a,
                           scratch.b);
}

}  // namespace
}  // namespace entmax_detail
}  // namespace pyfastnn

#endif  // PYFASTNN_X86
