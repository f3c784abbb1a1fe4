// The AVX-512 vector vocabulary: one 512-bit vector of float (F32) or double
// (F64) and the operations the kernels use on it, spelled the same for both
// dtypes and, where the operation exists there, as in vec_avx2.hpp.
//
// Include only from *_avx512.cpp files: they are compiled with -mavx512f
// -mavx512vl -mavx512bw -mavx512dq -mfma. Everything is in an anonymous
// namespace, so each of those files has its own copy and the linker cannot
// pick an AVX-512-compiled copy for a caller on another path.
//
// Shapes: a vector is W lanes (16 float, 8 double). Compares return a Mask
// (one bit per lane), which the masked loads and the select/_if forms take.
#pragma once

#ifdef PYFASTNN_X86

#include <immintrin.h>

#include <cstdint>

namespace pyfastnn {
namespace simd {
namespace avx512 {
namespace {

// Bits [0, n) set for n in [0, 32] (n clamped into it), without a branch.
inline unsigned low_bits(int64_t n) {
  const int64_t c = n < 0 ? 0 : n > 32 ? 32 : n;  // selects (cmov), not jumps
  return static_cast<unsigned>((uint64_t{1} << c) - 1);
}

// ---- float -------------------------------------------------------------------

struct F32 {
  using T = float;
  using V = __m512;
  using Mask = __mmask16;
  using Index = int32_t;  // lane index for permute
  static constexpr int W = 16;  // lanes

  static V zero() { return _mm512_setzero_ps(); }
  static V set1(T x) { return _mm512_set1_ps(x); }
  static V bcast(const T* p) { return _mm512_set1_ps(*p); }
  static V load(const T* p) { return _mm512_load_ps(p); }  // 64-byte aligned
  static V loadu(const T* p) { return _mm512_loadu_ps(p); }
  static void storeu(T* p, V v) { _mm512_storeu_ps(p, v); }
  // Lanes [0, n) set (none for n <= 0, all for n >= W).
  // No branch: compactions ask for a random count of lanes (a popcount).
  static Mask mask(int64_t n) { return _cvtu32_mask16(low_bits(n)); }
  static Mask lanes_below(int64_t n) { return mask(n); }  // as vec_avx2.hpp's
  // The lanes of m from p, zeros elsewhere (nothing else is read).
  static V maskload(const T* p, Mask m) { return _mm512_maskz_loadu_ps(m, p); }
  // The lanes of m from p, those of `rest` elsewhere.
  static V maskload(const T* p, Mask m, V rest) { return _mm512_mask_loadu_ps(rest, m, p); }
  static void maskstore(T* p, Mask m, V v) { _mm512_mask_storeu_ps(p, m, v); }

  static V add(V a, V b) { return _mm512_add_ps(a, b); }
  static V sub(V a, V b) { return _mm512_sub_ps(a, b); }
  static V mul(V a, V b) { return _mm512_mul_ps(a, b); }
  static V div(V a, V b) { return _mm512_div_ps(a, b); }
  static V fmadd(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }   // a * b + c
  static V fnmadd(V a, V b, V c) { return _mm512_fnmadd_ps(a, b, c); }  // c - a * b
  // To the nearest integer, ties to even.
  static V round(V a) {
    return _mm512_roundscale_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  }
  static V scalef(V a, V k) { return _mm512_scalef_ps(a, k); }  // a * 2^floor(k)
  static V sqrt(V a) { return _mm512_sqrt_ps(a); }
  // a = m 2^e with m in [1, 2), a > 0: e (getexp) and m (getmant).
  static V getexp(V a) { return _mm512_getexp_ps(a); }
  static V getmant(V a) { return _mm512_getmant_ps(a, _MM_MANT_NORM_1_2, _MM_MANT_SIGN_src); }
  // a = m 2^e with m in [0.75, 1.5), a positive normal (vec_math.hpp's log).
  static void split_centered(V a, V* e, V* m) {
    *m = _mm512_getmant_ps(a, _MM_MANT_NORM_p75_1p5, _MM_MANT_SIGN_src);
    const V one = _mm512_set1_ps(1.0f);  // m < 1: getexp's e is one short
    *e = _mm512_mask_add_ps(_mm512_getexp_ps(a), _mm512_cmp_ps_mask(*m, one, _CMP_LT_OQ),
                            _mm512_getexp_ps(a), one);
  }
  // 2^y by scalef takes any exponent: nothing to clamp.
  static V exp2_arg(V y) { return y; }
  // max(a, b) returns b when either is NaN: callers put the NaN-carrying operand second.
  static V max(V a, V b) { return _mm512_max_ps(a, b); }
  static V min(V a, V b) { return _mm512_min_ps(a, b); }

  static Mask gt(V a, V b) { return _mm512_cmp_ps_mask(a, b, _CMP_GT_OQ); }
  static Mask ge(V a, V b) { return _mm512_cmp_ps_mask(a, b, _CMP_GE_OQ); }
  static Mask eq(V a, V b) { return _mm512_cmp_ps_mask(a, b, _CMP_EQ_OQ); }
  static Mask neq(V a, V b) { return _mm512_cmp_ps_mask(a, b, _CMP_NEQ_UQ); }
  static Mask unord(V a, V b) { return _mm512_cmp_ps_mask(a, b, _CMP_UNORD_Q); }  // a or b NaN
  static V select(V a, Mask take_b, V b) { return _mm512_mask_mov_ps(a, take_b, b); }
  static V add_if(V a, Mask m, V b) { return _mm512_mask_add_ps(a, m, a, b); }  // a + b in m
  static V sub_if(V a, Mask m, V b) { return _mm512_mask_sub_ps(a, m, a, b); }  // a - b in m
  static V zero_unless(Mask m, V a) { return _mm512_maskz_mov_ps(m, a); }  // a in m, else 0
  static Mask both(Mask m1, Mask m2) { return static_cast<Mask>(m1 & m2); }  // set in both
  static unsigned bits(Mask m) { return m; }  // lane i: bit i
  // The lanes set in m moved to the front (zeros after), as vec_avx2.hpp's compress.
  static V compress(V v, Mask m) { return _mm512_maskz_compress_ps(m, v); }
  // The first lanes of v moved to the lanes set in m, in order; zeros elsewhere.
  static V expand(V v, Mask m) { return _mm512_maskz_expand_ps(m, v); }
  // Lane j of the result is lane idx[j] of v.
  static V permute(__m512i idx, V v) { return _mm512_permutexvar_ps(idx, v); }

  // Reductions in the fixed order of GCC's _mm512_reduce_*_ps (halves, then
  // quarters, then pairs, then lanes).
  static T hmax(V v) { return _mm512_reduce_max_ps(v); }
  static T hsum(V v) { return _mm512_reduce_add_ps(v); }

  // In place, 16 x 16: lane k of r[i] <-> lane i of r[k] (4 rounds of 16 shuffles).
  static void transpose(V r[16]) {
    V t[W];
    for (int i = 0; i < W; i += 2) {
      t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
      t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
    }
    auto pairs_lo = [](V a, V b) {  // 64-bit pairs
      return _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(a), _mm512_castps_pd(b)));
    };
    auto pairs_hi = [](V a, V b) {
      return _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(a), _mm512_castps_pd(b)));
    };
    for (int i = 0; i < W; i += 4) {  // r[i + q]: rows i..i+3, columns q, q+4, q+8, q+12
      r[i] = pairs_lo(t[i], t[i + 2]);
      r[i + 1] = pairs_hi(t[i], t[i + 2]);
      r[i + 2] = pairs_lo(t[i + 1], t[i + 3]);
      r[i + 3] = pairs_hi(t[i + 1], t[i + 3]);
    }
    for (int h = 0; h < W; h += 8)  // t[h + q]: columns q, q + 8 (q < 4) or q - 4, q + 4
      for (int q = 0; q < 4; ++q) {
        t[h + q] = _mm512_shuffle_f32x4(r[h + q], r[h + q + 4], 0x88);
        t[h + q + 4] = _mm512_shuffle_f32x4(r[h + q], r[h + q + 4], 0xdd);
      }
    for (int q = 0; q < 8; ++q) {
      r[q] = _mm512_shuffle_f32x4(t[q], t[q + 8], 0x88);
      r[q + 8] = _mm512_shuffle_f32x4(t[q], t[q + 8], 0xdd);
    }
  }
};

// ---- double ------------------------------------------------------------------

struct F64 {
  using T = double;
  using V = __m512d;
  using Mask = __mmask8;
  using Index = int64_t;
  static constexpr int W = 8;

  static V zero() { return _mm512_setzero_pd(); }
  static V set1(T x) { return _mm512_set1_pd(x); }
  static V bcast(const T* p) { return _mm512_set1_pd(*p); }
  static V load(const T* p) { return _mm512_load_pd(p); }
  static V loadu(const T* p) { return _mm512_loadu_pd(p); }
  static void storeu(T* p, V v) { _mm512_storeu_pd(p, v); }
  static Mask mask(int64_t n) { return _cvtu32_mask8(low_bits(n)); }
  static Mask lanes_below(int64_t n) { return mask(n); }
  static V maskload(const T* p, Mask m) { return _mm512_maskz_loadu_pd(m, p); }
  static void maskstore(T* p, Mask m, V v) { _mm512_mask_storeu_pd(p, m, v); }

  static V add(V a, V b) { return _mm512_add_pd(a, b); }
  static V sub(V a, V b) { return _mm512_sub_pd(a, b); }
  static V mul(V a, V b) { return _mm512_mul_pd(a, b); }
  static V div(V a, V b) { return _mm512_div_pd(a, b); }
  static V fmadd(V a, V b, V c) { return _mm512_fmadd_pd(a, b, c); }
  static V fnmadd(V a, V b, V c) { return _mm512_fnmadd_pd(a, b, c); }
  static V round(V a) {
    return _mm512_roundscale_pd(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  }
  static V scalef(V a, V k) { return _mm512_scalef_pd(a, k); }
  static V sqrt(V a) { return _mm512_sqrt_pd(a); }
  static V getexp(V a) { return _mm512_getexp_pd(a); }
  static V getmant(V a) { return _mm512_getmant_pd(a, _MM_MANT_NORM_1_2, _MM_MANT_SIGN_src); }
  static void split_centered(V a, V* e, V* m) {  // as F32's
    *m = _mm512_getmant_pd(a, _MM_MANT_NORM_p75_1p5, _MM_MANT_SIGN_src);
    const V one = _mm512_set1_pd(1.0);
    *e = _mm512_mask_add_pd(_mm512_getexp_pd(a), _mm512_cmp_pd_mask(*m, one, _CMP_LT_OQ),
                            _mm512_getexp_pd(a), one);
  }
  static V exp2_arg(V y) { return y; }
  static V max(V a, V b) { return _mm512_max_pd(a, b); }
  static V min(V a, V b) { return _mm512_min_pd(a, b); }

  static Mask gt(V a, V b) { return _mm512_cmp_pd_mask(a, b, _CMP_GT_OQ); }
  static Mask ge(V a, V b) { return _mm512_cmp_pd_mask(a, b, _CMP_GE_OQ); }
  static Mask eq(V a, V b) { return _mm512_cmp_pd_mask(a, b, _CMP_EQ_OQ); }
  static Mask neq(V a, V b) { return _mm512_cmp_pd_mask(a, b, _CMP_NEQ_UQ); }
  static Mask unord(V a, V b) { return _mm512_cmp_pd_mask(a, b, _CMP_UNORD_Q); }
  static V select(V a, Mask take_b, V b) { return _mm512_mask_mov_pd(a, take_b, b); }
  static V add_if(V a, Mask m, V b) { return _mm512_mask_add_pd(a, m, a, b); }
  static V sub_if(V a, Mask m, V b) { return _mm512_mask_sub_pd(a, m, a, b); }
  static V zero_unless(Mask m, V a) { return _mm512_maskz_mov_pd(m, a); }
  static Mask both(Mask m1, Mask m2) { return static_cast<Mask>(m1 & m2); }
  static unsigned bits(Mask m) { return m; }
  static V compress(V v, Mask m) { return _mm512_maskz_compress_pd(m, v); }
  static V expand(V v, Mask m) { return _mm512_maskz_expand_pd(m, v); }
  static V permute(__m512i idx, V v) { return _mm512_permutexvar_pd(idx, v); }
  static T hsum(V v) { return _mm512_reduce_add_pd(v); }

  // In place, 8 x 8: lane k of r[i] <-> lane i of r[k] (3 rounds of 8 shuffles).
  static void transpose(V r[8]) {
    V t[W];
    for (int i = 0; i < W; i += 2) {
      t[i] = _mm512_unpacklo_pd(r[i], r[i + 1]);
      t[i + 1] = _mm512_unpackhi_pd(r[i], r[i + 1]);
    }
    for (int i = 0; i < W; i += 4) {  // r[i + q]: rows i..i+3, columns q, q + 4
      r[i] = _mm512_shuffle_f64x2(t[i], t[i + 2], 0x88);
      r[i + 1] = _mm512_shuffle_f64x2(t[i + 1], t[i + 3], 0x88);
      r[i + 2] = _mm512_shuffle_f64x2(t[i], t[i + 2], 0xdd);
      r[i + 3] = _mm512_shuffle_f64x2(t[i + 1], t[i + 3], 0xdd);
    }
    for (int q = 0; q < 4; ++q) {
      t[q] = _mm512_shuffle_f64x2(r[q], r[q + 4], 0x88);
      t[q + 4] = _mm512_shuffle_f64x2(r[q], r[q + 4], 0xdd);
    }
    for (int q = 0; q < W; ++q) r[q] = t[q];
  }
};

}  // namespace
}  // namespace avx512
}  // namespace simd
}  // namespace pyfastnn

#endif  // PYFASTNN_X86
