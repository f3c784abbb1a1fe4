// The AVX2 + FMA vector vocabulary: one 256-bit vector of float (F32) or
// double (F64) and the operations the kernels use on it, spelled the same for
// both dtypes (and, where the operation exists there, as in vec_avx512.hpp).
//
// Include only from *_avx2.cpp or *_avx512.cpp files: they are compiled with
// -mavx2 -mfma (AVX-512 implies both). Everything is in an anonymous
// namespace, so each of those files has its own copy and the linker cannot
// pick an AVX2-compiled copy for a caller on the portable path.
//
// Shapes: a vector is W lanes (8 float, 4 double). Compares return a vector
// with all bits of a lane set where true (V); Mask (a vector of integers)
// selects the lanes of masked loads and stores.
#pragma once

#ifdef PYFASTNN_X86

#include <immintrin.h>

#include <cstdint>

namespace pyfastnn {
namespace simd {
namespace avx2 {
namespace {

// ---- lane tables for packing the chosen lanes to the front -----------------

// For each mask of kLanes lanes, the 32-bit permutation indices that pack the
// set lanes to the front (compress) or spread the packed front back to the set
// lanes (expand: lane i takes position "set lanes below i"). A lane is kParts
// 32-bit parts: 1 for float, 2 for double (8 indices per mask either way).
template <int kLanes, int kParts, bool kExpand>
struct LaneTable {
  uint8_t idx[1 << kLanes][8];
  constexpr LaneTable() : idx{} {
    for (int bits = 0; bits < (1 << kLanes); ++bits) {
      int c = 0;
      for (int lane = 0; lane < kLanes; ++lane) {
        if (!(bits & (1 << lane))) continue;
        for (int part = 0; part < kParts; ++part) {
          const int packed = kParts * c + part, spread = kParts * lane + part;
          idx[bits][kExpand ? spread : packed] = static_cast<uint8_t>(kExpand ? packed : spread);
        }
        ++c;
      }
    }
  }
};
constexpr LaneTable<8, 1, false> kCompress8{};
constexpr LaneTable<4, 2, false> kCompress4{};
constexpr LaneTable<8, 1, true> kExpand8{};
constexpr LaneTable<4, 2, true> kExpand4{};

inline __m256i lane_indices(const uint8_t* idx) {
  return _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(idx)));
}

// Lane i: (i + d) % 8, as 32-bit indices for _mm256_permutevar8x32_ps.
inline __m256i lanes_shifted(int d) {
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  return _mm256_and_si256(_mm256_add_epi32(lane, _mm256_set1_epi32(d)), _mm256_set1_epi32(7));
}

// ---- float -------------------------------------------------------------------

struct F32 {
  using T = float;
  using V = __m256;
  using Mask = __m256i;
  static constexpr int W = 8;  // lanes
  static constexpr int kMantissaBits = 23, kExponentBias = 127;
  static constexpr int kMantissaMask = 0x007fffff, kOneBits = 0x3f800000;  // bits of 1.0f

  static V zero() { return _mm256_setzero_ps(); }
  static V set1(T x) { return _mm256_set1_ps(x); }
  static V bcast(const T* p) { return _mm256_broadcast_ss(p); }
  static V load(const T* p) { return _mm256_load_ps(p); }  // 32-byte aligned
  static V loadu(const T* p) { return _mm256_loadu_ps(p); }
  static void storeu(T* p, V v) { _mm256_storeu_ps(p, v); }
  // Lanes [0, n) set (none for n <= 0, all for n >= W).
  static Mask mask(int64_t n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n)),
                              _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  }
  static V as_v(Mask m) { return _mm256_castsi256_ps(m); }
  // Lanes [0, n) set, as a compare result (for select / both).
  static V lanes_below(int64_t n) { return as_v(mask(n)); }
  // The lanes of m from p, zeros elsewhere (nothing else is read).
  static V maskload(const T* p, Mask m) { return _mm256_maskload_ps(p, m); }
  static void maskstore(T* p, Mask m, V v) { _mm256_maskstore_ps(p, m, v); }

  static V add(V a, V b) { return _mm256_add_ps(a, b); }
  static V sub(V a, V b) { return _mm256_sub_ps(a, b); }
  static V mul(V a, V b) { return _mm256_mul_ps(a, b); }
  static V div(V a, V b) { return _mm256_div_ps(a, b); }
  static V fmadd(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }  // a * b + c
  static V fnmadd(V a, V b, V c) { return _mm256_fnmadd_ps(a, b, c); }  // c - a * b
  static V sqrt(V a) { return _mm256_sqrt_ps(a); }
  // To the nearest integer, ties to even.
  static V round(V a) { return _mm256_round_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
  // a * 2^k for integer-valued k in [-252, 254], as AVX-512's scalef: two exact
  // factors 2^(k/2) and 2^(k - k/2), so only the last product rounds.
  static V scalef(V a, V k) {
    const __m256i k1 = _mm256_srai_epi32(_mm256_cvtps_epi32(k), 1);
    const __m256i k2 = _mm256_sub_epi32(_mm256_cvtps_epi32(k), k1);
    return _mm256_mul_ps(_mm256_mul_ps(a, pow2(k1)), pow2(k2));
  }
  static V pow2(__m256i k) {  // 2^k, -126 <= k <= 127
    const __m256i e = _mm256_add_epi32(k, _mm256_set1_epi32(kExponentBias));
    return _mm256_castsi256_ps(_mm256_slli_epi32(e, kMantissaBits));
  }
  // For a positive normal a = m 2^e, m in [1, 2): e (getexp) and m (getmant), as
  // AVX-512's getexp / getmant (which also take subnormals; these do not).
  static V getexp(V a) {
    const __m256i e = _mm256_srli_epi32(_mm256_castps_si256(a), kMantissaBits);
    return _mm256_cvtepi32_ps(_mm256_sub_epi32(e, _mm256_set1_epi32(kExponentBias)));
  }
  static V getmant(V a) {
    const __m256i m = _mm256_and_si256(_mm256_castps_si256(a), _mm256_set1_epi32(kMantissaMask));
    return _mm256_castsi256_ps(_mm256_or_si256(m, _mm256_set1_epi32(kOneBits)));
  }
  // a = m 2^e with m in [0.75, 1.5), a positive normal (as AVX-512's).
  static void split_centered(V a, V* e, V* m) {
    const V m12 = getmant(a), high = _mm256_cmp_ps(m12, _mm256_set1_ps(1.5f), _CMP_GE_OQ);
    *m = _mm256_blendv_ps(m12, _mm256_mul_ps(m12, _mm256_set1_ps(0.5f)), high);
    *e = _mm256_add_ps(getexp(a), _mm256_and_ps(high, _mm256_set1_ps(1.0f)));
  }
  // 2^y for |y| within scalef's exponents: y clamped to +-200 (2^-200 is 0).
  static V exp2_arg(V y) { return _mm256_max_ps(_mm256_min_ps(y, set1(200.0f)), set1(-200.0f)); }
  // max(a, b) returns b when either is NaN: callers put the NaN-carrying operand second.
  static V max(V a, V b) { return _mm256_max_ps(a, b); }
  static V min(V a, V b) { return _mm256_min_ps(a, b); }

  static V gt(V a, V b) { return _mm256_cmp_ps(a, b, _CMP_GT_OQ); }
  static V ge(V a, V b) { return _mm256_cmp_ps(a, b, _CMP_GE_OQ); }
  static V eq(V a, V b) { return _mm256_cmp_ps(a, b, _CMP_EQ_OQ); }
  static V unord(V a, V b) { return _mm256_cmp_ps(a, b, _CMP_UNORD_Q); }  // a or b NaN
  static V vor(V a, V b) { return _mm256_or_ps(a, b); }
  static V vand(V a, V b) { return _mm256_and_ps(a, b); }
  static V select(V a, V take_b, V b) { return _mm256_blendv_ps(a, b, take_b); }
  static V add_if(V a, V m, V b) { return _mm256_add_ps(a, _mm256_and_ps(m, b)); }  // a + b in m
  static V zero_unless(V m, V a) { return _mm256_and_ps(m, a); }  // a in m, else 0
  static V both(V m1, V m2) { return _mm256_and_ps(m1, m2); }  // lanes set in both masks
  static int movemask(V a) { return _mm256_movemask_ps(a); }
  static unsigned bits(V m) { return static_cast<unsigned>(_mm256_movemask_ps(m)); }  // lane i: bit i

  // The lanes set in `bits` moved to the front (the others undefined).
  static V compress(V v, int bits) {
    return _mm256_permutevar8x32_ps(v, lane_indices(kCompress8.idx[bits]));
  }
  // The first lanes of v moved to the lanes set in `bits`, in order; zeros elsewhere.
  static V expand(V v, int bits) {
    const __m256i lane_bit = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
    const __m256i set = _mm256_cmpeq_epi32(
        _mm256_and_si256(_mm256_set1_epi32(bits), lane_bit), lane_bit);
    return _mm256_and_ps(_mm256_permutevar8x32_ps(v, lane_indices(kExpand8.idx[bits])),
                         _mm256_castsi256_ps(set));
  }
  // Lane i of the result is lane (i + r) % W of v.
  static V rotate(V v, int r) { return _mm256_permutevar8x32_ps(v, lanes_shifted(r)); }
  // Lane i of the result is lane i - off of v (lanes below off undefined).
  static V shift_up(V v, int off) { return _mm256_permutevar8x32_ps(v, lanes_shifted(-off)); }

  static T first(V v) { return _mm256_cvtss_f32(v); }
  // Every lane = the largest lane (a butterfly: no trip through a scalar).
  static V allmax(V v) {
    v = _mm256_max_ps(v, _mm256_permute2f128_ps(v, v, 1));
    v = _mm256_max_ps(v, _mm256_permute_ps(v, _MM_SHUFFLE(1, 0, 3, 2)));
    return _mm256_max_ps(v, _mm256_permute_ps(v, _MM_SHUFFLE(2, 3, 0, 1)));
  }
  // Reductions in a fixed order: halves, then pairs, then lanes 0 and 1.
  static T hmax(V v) {
    __m128 x = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    x = _mm_max_ps(x, _mm_movehl_ps(x, x));
    x = _mm_max_ss(x, _mm_movehdup_ps(x));
    return _mm_cvtss_f32(x);
  }
  static T hsum(V v) {
    __m128 x = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    x = _mm_add_ps(x, _mm_movehl_ps(x, x));
    x = _mm_add_ss(x, _mm_movehdup_ps(x));
    return _mm_cvtss_f32(x);
  }

  // In place, 8 x 8: lane k of r[i] <-> lane i of r[k].
  static void transpose(V r[8]) {
    const V t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
    const V t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
    const V t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
    const V t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
    const V u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
    const V u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
    const V u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
    const V u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
    r[0] = _mm256_permute2f128_ps(u0, u4, 0x20);
    r[1] = _mm256_permute2f128_ps(u1, u5, 0x20);
    r[2] = _mm256_permute2f128_ps(u2, u6, 0x20);
    r[3] = _mm256_permute2f128_ps(u3, u7, 0x20);
    r[4] = _mm256_permute2f128_ps(u0, u4, 0x31);
    r[5] = _mm256_permute2f128_ps(u1, u5, 0x31);
    r[6] = _mm256_permute2f128_ps(u2, u6, 0x31);
    r[7] = _mm256_permute2f128_ps(u3, u7, 0x31);
  }
};

// ---- double ------------------------------------------------------------------

struct F64 {
  using T = double;
  using V = __m256d;
  using Mask = __m256i;
  static constexpr int W = 4;
  static constexpr int kMantissaBits = 52, kExponentBias = 1023;
  static constexpr int64_t kMantissaMask = 0x000fffffffffffffLL, kOneBits = 0x3ff0000000000000LL;
  static constexpr int64_t kTwo52Bits = 0x4330000000000000LL;  // bits of 2^52

  static V zero() { return _mm256_setzero_pd(); }
  static V set1(T x) { return _mm256_set1_pd(x); }
  static V bcast(const T* p) { return _mm256_broadcast_sd(p); }
  static V load(const T* p) { return _mm256_load_pd(p); }
  static V loadu(const T* p) { return _mm256_loadu_pd(p); }
  static void storeu(T* p, V v) { _mm256_storeu_pd(p, v); }
  static Mask mask(int64_t n) {
    return _mm256_cmpgt_epi64(_mm256_set1_epi64x(n), _mm256_setr_epi64x(0, 1, 2, 3));
  }
  static V as_v(Mask m) { return _mm256_castsi256_pd(m); }
  static V lanes_below(int64_t n) { return as_v(mask(n)); }
  static V maskload(const T* p, Mask m) { return _mm256_maskload_pd(p, m); }
  static void maskstore(T* p, Mask m, V v) { _mm256_maskstore_pd(p, m, v); }

  static V add(V a, V b) { return _mm256_add_pd(a, b); }
  static V sub(V a, V b) { return _mm256_sub_pd(a, b); }
  static V mul(V a, V b) { return _mm256_mul_pd(a, b); }
  static V div(V a, V b) { return _mm256_div_pd(a, b); }
  static V fmadd(V a, V b, V c) { return _mm256_fmadd_pd(a, b, c); }
  static V fnmadd(V a, V b, V c) { return _mm256_fnmadd_pd(a, b, c); }
  static V sqrt(V a) { return _mm256_sqrt_pd(a); }
  static V round(V a) { return _mm256_round_pd(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
  // a * 2^k for integer-valued k in [-2044, 2046], as F32's.
  static V scalef(V a, V k) {
    const __m128i k32 = _mm256_cvtpd_epi32(k);
    const __m128i k1 = _mm_srai_epi32(k32, 1);
    const __m128i k2 = _mm_sub_epi32(k32, k1);
    return _mm256_mul_pd(_mm256_mul_pd(a, pow2(k1)), pow2(k2));
  }
  static V pow2(__m128i k) {  // 2^k, -1022 <= k <= 1023
    const __m256i e = _mm256_add_epi64(_mm256_cvtepi32_epi64(k), _mm256_set1_epi64x(kExponentBias));
    return _mm256_castsi256_pd(_mm256_slli_epi64(e, kMantissaBits));
  }
  // As F32's, for positive normal doubles (the exponent field to double through 2^52).
  static V getexp(V a) {
    const __m256i e = _mm256_srli_epi64(_mm256_castpd_si256(a), kMantissaBits);
    const V big = _mm256_castsi256_pd(_mm256_or_si256(e, _mm256_set1_epi64x(kTwo52Bits)));
    return _mm256_sub_pd(big, _mm256_set1_pd(4503599627370496.0 + kExponentBias));
  }
  static V getmant(V a) {
    const __m256i m =
        _mm256_and_si256(_mm256_castpd_si256(a), _mm256_set1_epi64x(kMantissaMask));
    return _mm256_castsi256_pd(_mm256_or_si256(m, _mm256_set1_epi64x(kOneBits)));
  }
  static void split_centered(V a, V* e, V* m) {  // as F32's
    const V m12 = getmant(a), high = _mm256_cmp_pd(m12, _mm256_set1_pd(1.5), _CMP_GE_OQ);
    *m = _mm256_blendv_pd(m12, _mm256_mul_pd(m12, _mm256_set1_pd(0.5)), high);
    *e = _mm256_add_pd(getexp(a), _mm256_and_pd(high, _mm256_set1_pd(1.0)));
  }
  static V exp2_arg(V y) {  // +-2000 (as F32's)
    return _mm256_max_pd(_mm256_min_pd(y, set1(2000.0)), set1(-2000.0));
  }
  static V max(V a, V b) { return _mm256_max_pd(a, b); }
  static V min(V a, V b) { return _mm256_min_pd(a, b); }

  static V gt(V a, V b) { return _mm256_cmp_pd(a, b, _CMP_GT_OQ); }
  static V ge(V a, V b) { return _mm256_cmp_pd(a, b, _CMP_GE_OQ); }
  static V eq(V a, V b) { return _mm256_cmp_pd(a, b, _CMP_EQ_OQ); }
  static V unord(V a, V b) { return _mm256_cmp_pd(a, b, _CMP_UNORD_Q); }
  static V vor(V a, V b) { return _mm256_or_pd(a, b); }
  static V vand(V a, V b) { return _mm256_and_pd(a, b); }
  static V select(V a, V take_b, V b) { return _mm256_blendv_pd(a, b, take_b); }
  static V add_if(V a, V m, V b) { return _mm256_add_pd(a, _mm256_and_pd(m, b)); }
  static V zero_unless(V m, V a) { return _mm256_and_pd(m, a); }
  static V both(V m1, V m2) { return _mm256_and_pd(m1, m2); }
  static int movemask(V a) { return _mm256_movemask_pd(a); }
  static unsigned bits(V m) { return static_cast<unsigned>(_mm256_movemask_pd(m)); }

  static V compress(V v, int bits) {
    return _mm256_castps_pd(
        _mm256_permutevar8x32_ps(_mm256_castpd_ps(v), lane_indices(kCompress4.idx[bits])));
  }
  static V expand(V v, int bits) {  // as F32's
    const __m256i lane_bit = _mm256_setr_epi64x(1, 2, 4, 8);
    const __m256i set = _mm256_cmpeq_epi64(
        _mm256_and_si256(_mm256_set1_epi64x(bits), lane_bit), lane_bit);
    return _mm256_and_pd(
        _mm256_castps_pd(_mm256_permutevar8x32_ps(_mm256_castpd_ps(v),
                                                  lane_indices(kExpand4.idx[bits]))),
        _mm256_castsi256_pd(set));
  }
  static V rotate(V v, int r) {  // the 32-bit halves rotated by 2 r
    return _mm256_castps_pd(_mm256_permutevar8x32_ps(_mm256_castpd_ps(v), lanes_shifted(2 * r)));
  }
  static V shift_up(V v, int off) {  // the 32-bit halves shifted by 2 off
    return _mm256_castps_pd(
        _mm256_permutevar8x32_ps(_mm256_castpd_ps(v), lanes_shifted(-2 * off)));
  }

  static T first(V v) { return _mm256_cvtsd_f64(v); }
  static V allmax(V v) {
    v = _mm256_max_pd(v, _mm256_permute2f128_pd(v, v, 1));
    return _mm256_max_pd(v, _mm256_permute_pd(v, 0x5));
  }
  static T hmax(V v) {
    __m128d x = _mm_max_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
    x = _mm_max_sd(x, _mm_unpackhi_pd(x, x));
    return _mm_cvtsd_f64(x);
  }
  static T hsum(V v) {
    __m128d x = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
    x = _mm_add_sd(x, _mm_unpackhi_pd(x, x));
    return _mm_cvtsd_f64(x);
  }

  // In place, 4 x 4: lane k of r[i] <-> lane i of r[k].
  static void transpose(V r[4]) {
    const V t0 = _mm256_unpacklo_pd(r[0], r[1]), t1 = _mm256_unpackhi_pd(r[0], r[1]);
    const V t2 = _mm256_unpacklo_pd(r[2], r[3]), t3 = _mm256_unpackhi_pd(r[2], r[3]);
    r[0] = _mm256_permute2f128_pd(t0, t2, 0x20);
    r[1] = _mm256_permute2f128_pd(t1, t3, 0x20);
    r[2] = _mm256_permute2f128_pd(t0, t2, 0x31);
    r[3] = _mm256_permute2f128_pd(t1, t3, 0x31);
  }
};

}  // namespace
}  // namespace avx2
}  // namespace simd
}  // namespace pyfastnn

#endif  // PYFASTNN_X86
