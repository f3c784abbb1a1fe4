// The entmax kernels for short rows with one row per vector lane, one template
// for AVX2 and AVX-512 (S = simd::avx2::F32 / F64 or simd::avx512::F32 / F64),
// included by entmax_avx2.cpp and entmax_avx512.cpp after entmax_template.hpp,
// whose row kernels are their reference (and the fallback of entmax15).
//
// Shapes: Z, P, V, out are row-major (rows, K), 1 <= K <= kEntmaxLaneRowsMaxK. A
// block is L = S::W rows; it is transposed in registers, one L x L tile at a time,
// into K column vectors on the stack (lane r of column k = row r, entry k), so the
// per-row sums of every pass are plain vector additions, all L rows in lock step:
// no horizontal reduction and no branch per row. The result columns are
// transposed back the same way. The last rows % L rows go through a zero-padded
// block on the stack.
//
//   entmax15:     the Newton passes of entmax15_row in lock step, each lane
//                 stopping when its closed-form threshold is exact; lanes that
//                 do not settle in kMaxEntmaxNewtonPasses are recomputed by
//                 entmax15_row (sort fallback).
//   alpha-entmax: Newton on (sum [y - tau]_+^e)^(1/e) - 1 from tau = -1, as
//                 entmax_bisect_row, for 1 < alpha <= 2 (e >= 1: convex, the
//                 iterates rise to the root); each lane stops on its own test
//                 (F <= 1, or a step below kStopUlps ulps of |tau|) and the loop
//                 when every lane has. d^(e - 1) by simd::pow_pos (vec_math.hpp)
//                 for alpha not 1.5 or 2, and d^e = d^(e - 1) d of the last pass
//                 is the output (no pow pass after the search). For alpha < 1.5
//                 Halley's step instead, after coarse passes, and the search ends
//                 at a step small enough for a Taylor expansion of the output
//                 (bisect_block_lanes). Results within a few ulp of the row
//                 kernel (relative to the row's largest entry).
//   product:      s = p^(2 - alpha) on the support, out = s (v - <s, v> / sum s) / T.
//
// A row with a NaN, a +inf or only -inf entries gets a NaN statistic in its own
// lane (so a NaN row) without touching its neighbours, as the row kernels do.
#pragma once

#ifdef PYFASTNN_X86

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>

#include "simd/vec_math.hpp"
#include "simplex/kernels/entmax_kernels.hpp"
#include "simplex/kernels/entmax_template.hpp"
#include "simplex/kernels/entmax_vector_rows.hpp"

namespace pyfastnn {
namespace entmax_detail {
namespace {

// ---- blocks and columns ----------------------------------------------------------

// c[k] = column k of the block z (L rows of K), k < K.
template <typename S>
inline void load_columns(const typename S::T* z, int K, typename S::V* c) {
  constexpr int L = S::W;
  for (int j = 0; j < K; j += L) {
    const int width = K - j < L ? K - j : L;
    const auto m = S::mask(width);
    typename S::V r[L];
#pragma GCC unroll 16
    for (int i = 0; i < L; ++i) r[i] = S::maskload(z + i * K + j, m);
    S::transpose(r);
    for (int i = 0; i < width; ++i) c[j + i] = r[i];
  }
}

// The block p (L rows of K) from its columns c[k], k < K.
template <typename S>
inline void store_columns(const typename S::V* c, int K, typename S::T* p) {
  constexpr int L = S::W;
  for (int j = 0; j < K; j += L) {
    const int width = K - j < L ? K - j : L;
    const auto m = S::mask(width);
    typename S::V r[L];
#pragma GCC unroll 16
    for (int i = 0; i < L; ++i) r[i] = i < width ? c[j + i] : S::zero();
    S::transpose(r);
#pragma GCC unroll 16
    for (int i = 0; i < L; ++i) S::maskstore(p + i * K + j, m, r[i]);
  }
}

// Calls block(a, b, out, n) on every block of L rows of A, B (b = nullptr when B
// is) and out, n the rows of the block that are real: whole blocks in place, the
// last rows % L rows through zero-padded blocks on the stack.
template <typename S, typename Block>
void for_lane_blocks(const typename S::T* A, const typename S::T* B, int64_t rows, int K,
                     typename S::T* out, Block block) {
  using T = typename S::T;
  constexpr int L = S::W;
  int64_t i = 0;
  for (; i + L <= rows; i += L) block(A + i * K, B ? B + i * K : nullptr, out + i * K, L);
  if (i == rows) return;
  T a[L * kEntmaxLaneRowsMaxK] = {}, b[L * kEntmaxLaneRowsMaxK] = {},
                                o[L * kEntmaxLaneRowsMaxK];
  const size_t bytes = static_cast<size_t>((rows - i) * K) * sizeof(T);
  std::memcpy(a, A + i * K, bytes);
  if (B) std::memcpy(b, B + i * K, bytes);
  block(a, B ? b : nullptr, o, static_cast<int>(rows - i));
  std::memcpy(out + i * K, o, bytes);
}

// y[k] = (column k - row max) * scale; returns the lanes whose row has a NaN, a
// +inf or only -inf entries (their sum of y is NaN), as a mask.
template <typename S>
inline auto shifted_columns(const typename S::T* z, int K, typename S::V scale, typename S::V* y) {
  using V = typename S::V;
  load_columns<S>(z, K, y);
  V m = y[0];
  for (int k = 1; k < K; ++k) m = S::max(m, y[k]);
  V total = S::zero();
  for (int k = 0; k < K; ++k) {
    y[k] = S::mul(S::sub(y[k], m), scale);
    total = S::add(total, y[k]);
  }
  return S::unord(total, total);
}

template <typename S>
inline typename S::V nan_vector() {
  return S::set1(static_cast<typename S::T>(__builtin_nan("")));
}

// ---- entmax15 --------------------------------------------------------------------

// One block; returns the lanes (bits) whose threshold did not settle.
template <typename S>
unsigned entmax15_block_lanes(const typename S::T* z, int K, typename S::T inv_t,
                              typename S::T* p) {
  using T = typename S::T;
  using V = typename S::V;
  V y[kEntmaxLaneRowsMaxK];
  const auto bad = shifted_columns<S>(z, K, S::set1(T(0.5) * inv_t), y);
  const V zero = S::zero(), one = S::set1(T(1)), inf = S::set1(std::numeric_limits<T>::infinity());
  V tau = S::set1(T(-1));
  V active = S::select(one, bad, zero), found = S::select(zero, bad, one);  // 1 / 0 flags
  for (int pass = 0; pass < kMaxEntmaxNewtonPasses; ++pass) {
    V count = zero, s1 = zero, s2 = zero, dmin = inf;
    for (int k = 0; k < K; ++k) {
      const V d = S::sub(y[k], tau);
      const auto in = S::gt(d, zero);
      count = S::add_if(count, in, one);
      s1 = S::add_if(s1, in, d);
      s2 = S::add_if(s2, in, S::mul(d, d));
      dmin = S::select(dmin, in, S::min(d, dmin));
    }
    const V mean = S::div(s1, count);
    const V ss = S::fnmadd(s1, mean, s2);
    const V t = S::sub(mean, S::sqrt(S::max(S::div(S::sub(one, ss), count), zero)));
    // exact: the closed form over {d > 0} lies below every d of the set
    const auto exact = S::both(S::both(S::ge(one, ss), S::ge(dmin, t)), S::gt(active, zero));
    tau = S::select(tau, exact, S::add(tau, t));
    found = S::select(found, exact, one);
    active = S::select(active, exact, zero);
    const V step = S::div(S::sub(s2, S::sqrt(s2)), s1);  // Newton on sqrt(F) - 1
    active = S::select(zero, S::gt(step, zero), active);  // no step: the sort fallback
    const auto moving = S::gt(active, zero);
    if (S::bits(moving) == 0) break;
    tau = S::select(tau, moving, S::add(tau, step));
  }
  tau = S::select(tau, bad, nan_vector<S>());
  for (int k = 0; k < K; ++k) {
    const V d = S::max(zero, S::sub(y[k], tau));  // NaN tau: NaN
    y[k] = S::mul(d, d);
  }
  store_columns<S>(y, K, p);
  return S::bits(S::gt(one, found));
}

template <typename S>
void entmax15_lanes(const typename S::T* Z, int64_t rows, int64_t K, typename S::T inv_t,
                    typename S::T* P) {
  using T = typename S::T;
  const int k = static_cast<int>(K);
  for_lane_blocks<S>(Z, nullptr, rows, k, P, [&](const T* z, const T*, T* p, int n) {
    unsigned unsettled = entmax15_block_lanes<S>(z, k, inv_t, p);
    for (; unsettled; unsettled &= unsettled - 1) {
      const int r = __builtin_ctz(unsettled);
      if (r < n) entmax15_row(z + r * K, K, inv_t, p + r * K);
    }
  });
}

// ---- alpha-entmax ----------------------------------------------------------------

// Coarse passes that open Halley's search (pow_pos_coarse, ~2e-4): the first
// lands within ~1e-2 of the root from tau = -1, the second within the coarse
// pow's error (~1e-5 float at alpha 1.3, K = 26), so that one full pass then
// takes a step below halley_exit_step and ends the search (Gaussian rows,
// alpha 1.05 .. 1.45, K 8 .. 48: 3 passes for every row, against 1 coarse + 2 or
// 3 full passes with the old stop at kStopUlps; 2 coarse passes in double would
// still need 2 full ones, so one).
template <typename T>
constexpr int kHalleyCoarsePasses = sizeof(T) == 4 ? 2 : 1;

// The largest step s after which (d - s)^m, 0 <= d <= 1, is within eps / 4 (of
// the row's largest entry, 1) by its Taylor expansion at d of order n (1 or 2):
// the error is about |C(m, n + 1)| s^(n + 1) d^(m - n - 1) (binomial C) for d >> s,
// and O(s^m) for d near s (an entry crossing the threshold; at d = s the
// expansion gives (1 - m) s^m, or (m - 1) (m - 2) s^m / 2): so c s^min(n + 1, m) <=
// eps / 4, c the larger coefficient.
template <typename T>
T taylor_exit_step(T m, int order) {
  const T eps = std::numeric_limits<T>::epsilon() / T(4);
  const T next = order == 1 ? m * (m - T(1)) / T(2) : m * (m - T(1)) * (m - T(2)) / T(6);
  const T at_s = order == 1 ? T(1) - m : (m - T(1)) * (m - T(2)) / T(2);
  const T c = std::fmax(std::fabs(next), std::fabs(at_s));
  if (c <= eps) return T(1);
  return std::pow(eps / c, T(1) / std::fmin(T(order + 1), m));
}

// Halley's search (alpha < 1.5) ends at a full pass whose step is at most this:
// p = (d - s)^e to second order and, for the product, (d - s)^(e - 1) to first.
template <typename T>
T halley_exit_step(T alpha, bool product) {
  const T e = T(1) / (alpha - T(1));
  const T map = taylor_exit_step(e, 2);
  return product ? std::fmin(map, taylor_exit_step(e - T(1), 1)) : map;
}

// One block of alpha-entmax. kHalley (general power with e > 2, alpha < 1.5): each
// pass sums d^(e - 2) too, from the one pow per entry (d^(e - 2), times d for
// d^(e - 1) and again for d^e), and takes Halley's step (halley_factor,
// entmax_vector_rows.hpp), which converges cubically; the first
// kHalleyCoarsePasses passes take pow_pos_coarse, and the search ends when every
// lane's step s is at most exit_step (halley_exit_step): then p = (d - s)^e by its
// Taylor expansion from that pass's powers of d (no pow after the search).
// Else (Newton) the search ends when every lane's step is below kStopUlps ulps and
// the last pass's d^e is the output. kProduct (general power): v is the block of
// V and p receives J v / T instead of the map, with s = p^(2 - alpha) = d^(e - 1)
// N^(alpha - 2) from the last pass (after Halley's search by Taylor again).
template <Power kPower, bool kHalley, bool kProduct, typename S>
void bisect_block_lanes(const typename S::T* z, const typename S::T* v, int K,
                        typename S::T alpha, typename S::T inv_t, typename S::T exit_step,
                        typename S::T* p) {
  using T = typename S::T;
  using V = typename S::V;
  constexpr bool kPow = kPower == Power::general;
  static_assert(!kHalley || kPow, "Halley's step is for the general power");
  static_assert(!kProduct || kPow, "the fused product is for the general power");
  V y[kEntmaxLaneRowsMaxK];
  // The last pass's powers (general power), 0 off the support: d^(e - 2)
  // (kHalley) or d^e; d^(e - 1) for Newton's kProduct.
  V q_d[kPow ? kEntmaxLaneRowsMaxK : 1];
  V q_s[kProduct && !kHalley ? kEntmaxLaneRowsMaxK : 1];
  const auto bad = shifted_columns<S>(z, K, S::set1((alpha - T(1)) * inv_t), y);
  // Entries below -2 (-inf included) become -2: still off the support (tau > -1
  // throughout), and with a finite d = y - tau the sums' q d is 0 there, not NaN.
  if constexpr (kHalley) {
    const V below = S::set1(T(-2));
    for (int k = 0; k < K; ++k) y[k] = S::max(y[k], below);
  }
  const T e = T(1) / (alpha - T(1));
  const V zero = S::zero(), one = S::set1(T(1)), ve = S::set1(e);
  const V vpow = S::set1(kHalley ? e - T(2) : e - T(1));  // the one pow per entry and pass
  const V vg = S::set1(T(1) - T(1) / e);  // G = F^(1 - 1/e)
  const V eps = S::set1(std::numeric_limits<T>::epsilon() * T(kStopUlps));
  V tau = S::set1(T(-1)), step = zero;
  V active = S::select(one, bad, zero);
  bool settled = false;  // every lane stopped: the output comes from the last pass
  for (int pass = 0; pass < kMaxEntmaxBisectPasses; ++pass) {
    V F = zero, Sd = zero, S2 = zero;  // sum d^e, d^(e - 1), d^(e - 2) over d > 0
    const auto sweep = [&](auto coarse) {
      for (int k = 0; k < K; ++k) {
        const V d = S::sub(y[k], tau);
        const auto in = S::gt(d, zero);
        if constexpr (kPower == Power::linear) {
          Sd = S::add_if(Sd, in, one);
          F = S::add_if(F, in, d);
        } else if constexpr (kPower == Power::square) {
          Sd = S::add_if(Sd, in, d);
          F = S::add_if(F, in, S::mul(d, d));
        } else {
          V q = decltype(coarse)::value ? simd::pow_pos_coarse<S>(simd::at_least_normal<S>(d), vpow)
                                        : simd::pow_pos<S>(simd::at_least_normal<S>(d), vpow);
          if constexpr (kHalley) {
            q_d[k] = S::zero_unless(in, q);
            q = q_d[k];
            S2 = S::add(S2, q);
            q = S::mul(q, d);
            Sd = S::add(Sd, q);
            F = S::fmadd(q, d, F);
          } else {
            q_d[k] = S::zero_unless(in, S::mul(q, d));
            if constexpr (kProduct) q_s[k] = S::zero_unless(in, q);
            Sd = S::add_if(Sd, in, q);
            F = S::add(F, q_d[k]);
          }
        }
      }
    };
    const bool coarse = kHalley && pass < kHalleyCoarsePasses<T>;
    if (coarse)
      sweep(std::true_type{});
    else
      sweep(std::false_type{});
    V G;
    if constexpr (kPower == Power::linear) G = one;
    else if constexpr (kPower == Power::square) G = S::sqrt(F);
    else G = simd::pow_pos<S>(simd::at_least_normal<S>(F), vg);
    step = S::div(S::sub(F, G), Sd);  // Newton's
    if constexpr (kHalley) step = S::mul(step, halley_factor_v<S>(F, G, Sd, S2, e));
    if (coarse) {  // a coarse pass only moves tau
      tau = S::select(tau, S::gt(active, zero), S::add(tau, step));
      continue;
    }
    // Halley: go on while |step| exceeds exit_step (from above the root, F < 1,
    // the step goes back); Newton: while F > 1 (below the root) and the step
    // exceeds kStopUlps ulps of |tau|
    const auto go = kHalley ? S::gt(S::max(step, S::sub(zero, step)), S::set1(exit_step))
                            : S::both(S::gt(F, one), S::gt(step, S::mul(eps, S::sub(zero, tau))));
    const V next = S::add(tau, step);
    active = S::select(zero, go, active);
    const auto moving = S::gt(active, zero);
    if (S::bits(moving) == 0) {
      settled = true;
      break;
    }
    tau = S::select(tau, moving, next);
  }
  tau = S::select(tau, bad, nan_vector<S>());
  // Halley: (d - s)^e = d^(e - 2) (d^2 - e s d + e (e - 1) s^2 / 2) for d > s, and for
  // the product (d - s)^(e - 1) = d^(e - 2) (d - (e - 1) s), into q_d
  const V c1 = S::mul(ve, step), c2 = S::mul(S::mul(c1, step), S::set1(T(0.5) * (e - T(1))));
  const V c1s = S::mul(S::set1(e - T(1)), step);
  V sum = zero;
  for (int k = 0; k < K; ++k) {
    const V d = S::sub(y[k], tau);
    if (kPow && settled) {
      if constexpr (kHalley) {
        const auto in = S::gt(d, step);
        y[k] = S::zero_unless(in, S::mul(q_d[k], S::fmadd(S::sub(d, c1), d, c2)));
        if constexpr (kProduct) q_d[k] = S::zero_unless(in, S::mul(q_d[k], S::sub(d, c1s)));
      } else {
        y[k] = q_d[k];
      }
    } else {
      V v;
      if constexpr (kPower == Power::linear) v = d;
      else if constexpr (kPower == Power::square) v = S::mul(d, d);
      else v = simd::pow_pos<S>(simd::at_least_normal<S>(d), ve);
      y[k] = S::zero_unless(S::gt(d, zero), v);
    }
    sum = S::add(sum, y[k]);
  }
  const V inv_sum = S::select(S::div(one, sum), bad, nan_vector<S>());
  if constexpr (!kProduct) {
    for (int k = 0; k < K; ++k) y[k] = S::mul(y[k], inv_sum);
    store_columns<S>(y, K, p);
  } else {  // y[k] = s_k, then the product with the columns of v, into y
    const V power = S::set1(T(2) - alpha);
    const V scale = simd::pow_pos<S>(simd::at_least_normal<S>(sum), S::sub(zero, power));
    for (int k = 0; k < K; ++k) {
      const auto in = S::gt(y[k], zero);
      V s;  // d^(e - 1) N^(alpha - 2) after the search
      if (!settled)
        s = simd::pow_pos<S>(simd::at_least_normal<S>(S::mul(y[k], inv_sum)), power);
      else if constexpr (kHalley)
        s = S::mul(q_d[k], scale);
      else
        s = S::mul(q_s[k], scale);
      y[k] = S::zero_unless(in, s);
    }
    V g[kEntmaxLaneRowsMaxK];
    load_columns<S>(v, K, g);
    V sum_s = zero, sum_sv = zero;
    for (int k = 0; k < K; ++k) {
      sum_s = S::add(sum_s, y[k]);
      sum_sv = S::add_if(sum_sv, S::gt(y[k], zero), S::mul(y[k], g[k]));  // v off the support unread
    }
    const V mean = S::zero_unless(S::gt(sum_s, zero), S::div(sum_sv, sum_s));
    const V vi = S::set1(inv_t), nan = nan_vector<S>();
    for (int k = 0; k < K; ++k) {
      const V r = S::zero_unless(S::gt(y[k], zero), S::mul(S::mul(y[k], S::sub(g[k], mean)), vi));
      y[k] = S::select(r, bad, nan);
    }
    store_columns<S>(y, K, p);
  }
}

template <Power kPower, bool kHalley, typename S>
void bisect_lanes_as(const typename S::T* Z, int64_t rows, int K, typename S::T alpha,
                     typename S::T inv_t, typename S::T* P) {
  using T = typename S::T;
  const T exit_step = kHalley ? halley_exit_step(alpha, false) : T(0);
  for_lane_blocks<S>(Z, nullptr, rows, K, P, [&](const T* z, const T*, T* p, int) {
    bisect_block_lanes<kPower, kHalley, false, S>(z, nullptr, K, alpha, inv_t, exit_step, p);
  });
}

template <typename S>
void bisect_lanes(const typename S::T* Z, int64_t rows, int64_t K, typename S::T alpha,
                  typename S::T inv_t, typename S::T* P) {
  using T = typename S::T;
  const int k = static_cast<int>(K);
  if (alpha == T(2))
    bisect_lanes_as<Power::linear, false, S>(Z, rows, k, alpha, inv_t, P);
  else if (alpha == T(1.5))
    bisect_lanes_as<Power::square, false, S>(Z, rows, k, alpha, inv_t, P);
  else if (alpha < T(1.5))  // e > 2: d^(e - 2) is bounded, Halley's step
    bisect_lanes_as<Power::general, true, S>(Z, rows, k, alpha, inv_t, P);
  else
    bisect_lanes_as<Power::general, false, S>(Z, rows, k, alpha, inv_t, P);
}

// alpha-entmax and its Jacobian product in one pass over the block (kProduct).
template <typename S>
void bisect_product_lanes(const typename S::T* Z, const typename S::T* Vs, int64_t rows,
                          int64_t K, typename S::T alpha, typename S::T inv_t,
                          typename S::T* out) {
  using T = typename S::T;
  const int k = static_cast<int>(K);
  const T exit_step = halley_exit_step(alpha, true);  // used for alpha < 1.5
  for_lane_blocks<S>(Z, Vs, rows, k, out, [&](const T* z, const T* v, T* o, int) {
    if (alpha < T(1.5))
      bisect_block_lanes<Power::general, true, true, S>(z, v, k, alpha, inv_t, exit_step, o);
    else
      bisect_block_lanes<Power::general, false, true, S>(z, v, k, alpha, inv_t, exit_step, o);
  });
}

// ---- Jacobian product ------------------------------------------------------------

template <Power kPower, typename S>
void product_block_lanes(const typename S::T* p, const typename S::T* v, int K,
                         typename S::T alpha, typename S::T inv_t, typename S::T* out) {
  using T = typename S::T;
  using V = typename S::V;
  V s[kEntmaxLaneRowsMaxK], g[kEntmaxLaneRowsMaxK];
  load_columns<S>(p, K, s);
  load_columns<S>(v, K, g);
  const V zero = S::zero(), one = S::set1(T(1)), power = S::set1(T(2) - alpha);
  V sum_p = zero, sum_s = zero, sum_sv = zero;  // sum_p: NaN iff the row of P has a NaN
  for (int k = 0; k < K; ++k) {
    const V pk = s[k];
    sum_p = S::add(sum_p, pk);
    const auto in = S::gt(pk, zero);
    V sk;
    if constexpr (kPower == Power::linear) sk = one;
    else if constexpr (kPower == Power::square) sk = S::sqrt(pk);
    else sk = simd::pow_pos<S>(simd::at_least_normal<S>(pk), power);
    s[k] = S::zero_unless(in, sk);
    sum_s = S::add(sum_s, s[k]);
    sum_sv = S::add_if(sum_sv, in, S::mul(s[k], g[k]));  // v off the support never read
  }
  const V mean = S::zero_unless(S::gt(sum_s, zero), S::div(sum_sv, sum_s));
  const auto bad = S::unord(sum_p, sum_p);
  const V vi = S::set1(inv_t), nan = nan_vector<S>();
  for (int k = 0; k < K; ++k) {
    const V r = S::zero_unless(S::gt(s[k], zero), S::mul(S::mul(s[k], S::sub(g[k], mean)), vi));
    s[k] = S::select(r, bad, nan);
  }
  store_columns<S>(s, K, out);
}

template <Power kPower, typename S>
void product_lanes_as(const typename S::T* P, const typename S::T* Vs, int64_t rows, int K,
                      typename S::T alpha, typename S::T inv_t, typename S::T* out) {
  using T = typename S::T;
  for_lane_blocks<S>(P, Vs, rows, K, out, [&](const T* p, const T* v, T* o, int) {
    product_block_lanes<kPower, S>(p, v, K, alpha, inv_t, o);
  });
}

template <typename S>
void product_lanes(const typename S::T* P, const typename S::T* Vs, int64_t rows, int64_t K,
                   typename S::T alpha, typename S::T inv_t, typename S::T* out) {
  using T = typename S::T;
  const int k = static_cast<int>(K);
  if (alpha == T(2))
    product_lanes_as<Power::linear, S>(P, Vs, rows, k, alpha, inv_t, out);
  else if (alpha == T(1.5))
    product_lanes_as<Power::square, S>(P, Vs, rows, k, alpha, inv_t, out);
  else
    product_lanes_as<Power::general, S>(P, Vs, rows, k, alpha, inv_t, out);
}

// The table of one ISA: the row kernels (with the vector pow for general alpha)
// and the lane kernels.
template <typename S>
EntmaxKernels<typename S::T> make_lane_kernels() {
  EntmaxKernels<typename S::T> k = make_kernels<typename S::T>();
  k.bisect_rows = bisect_rows_fast<S>;
  k.product_rows = product_rows_fast<S>;
  k.entmax15_lanes = entmax15_lanes<S>;
  k.bisect_lanes = bisect_lanes<S>;
  k.product_lanes = product_lanes<S>;
  k.bisect_product_lanes = bisect_product_lanes<S>;
  return k;
}

}  // namespace
}  // namespace entmax_detail
}  // namespace pyfastnn

#endif  // PYFASTNN_X86
