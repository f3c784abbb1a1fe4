// Building blocks of the AVX-512 short-row kernels (simplex_lanes_avx512.cpp,
// simplex_lanes_products_avx512.cpp), which put one row per vector lane.
// Included only by *_avx512.cpp files (compiled with -mavx512f -mavx512vl
// -mavx512bw -mavx512dq -mfma); everything is in an anonymous namespace, so each
// of them has its own copy and none can be picked by the linker for another ISA.
//
// Shapes: row-major arrays (rows, K), K a compile-time constant. A block is L
// rows (L = lanes: 16 float, 8 double), i.e. L K contiguous elements = exactly K
// vectors ("flat" vectors; lane j of flat vector v is row (L v + j) / K, column
// (L v + j) % K). Column vectors hold one entry of each row of a block (lane r =
// row r) and are made by transposing the block in registers.
#pragma once

#ifdef PYFASTNN_X86

#include <immintrin.h>

#include <cstdint>
#include <cstring>

namespace pyfastnn {
namespace simplex_detail {
namespace avx512 {
namespace {

// ---- one 512-bit vector of float or double, lanes = rows ---------------------

struct F32 {
  using T = float;
  using V = __m512;
  using Mask = __mmask16;
  static constexpr int L = 16;
  static V set1(T x) { return _mm512_set1_ps(x); }
  static V zero() { return _mm512_setzero_ps(); }
  static V loadu(const T* p) { return _mm512_loadu_ps(p); }
  static void storeu(T* p, V v) { _mm512_storeu_ps(p, v); }
  static V add(V a, V b) { return _mm512_add_ps(a, b); }
  static V sub(V a, V b) { return _mm512_sub_ps(a, b); }
  static V mul(V a, V b) { return _mm512_mul_ps(a, b); }
  static V div(V a, V b) { return _mm512_div_ps(a, b); }
  static V fmadd(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
  // max(a, b) returns b when either is NaN: callers put the NaN-carrying operand second.
  static V max(V a, V b) { return _mm512_max_ps(a, b); }
  static V min(V a, V b) { return _mm512_min_ps(a, b); }
  static __mmask16 gt(V a, V b) { return _mm512_cmp_ps_mask(a, b, _CMP_GT_OQ); }
  static __mmask16 unord(V a) { return _mm512_cmp_ps_mask(a, a, _CMP_UNORD_Q); }
  static V select(V a, __mmask16 take_b, V b) { return _mm512_mask_mov_ps(a, take_b, b); }
  static V add_if(V a, __mmask16 m, V b) { return _mm512_mask_add_ps(a, m, a, b); }
  static __mmask16 neq(V a, V b) { return _mm512_cmp_ps_mask(a, b, _CMP_NEQ_UQ); }
  static __mmask16 eq(V a, V b) { return _mm512_cmp_ps_mask(a, b, _CMP_EQ_OQ); }
  static V sub_if(V a, __mmask16 m, V b) { return _mm512_mask_sub_ps(a, m, a, b); }
  static V load_first(const T* p, int n) {  // lanes [0, n) from p, the others 0
    return _mm512_maskz_loadu_ps(static_cast<Mask>((1u << n) - 1), p);
  }
  // In place: lane k of r[i] <-> lane i of r[k] (4 rounds of 16 shuffles).
  static void transpose(V* r) {
    V t[L];
    for (int i = 0; i < L; i += 2) {
      t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
      t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
    }
    auto pairs_lo = [](V a, V b) {  // 64-bit pairs
      return _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(a), _mm512_castps_pd(b)));
    };
    auto pairs_hi = [](V a, V b) {
      return _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(a), _mm512_castps_pd(b)));
    };
    for (int i = 0; i < L; i += 4) {  // r[i + q]: rows i..i+3, columns q, q+4, q+8, q+12
      r[i] = pairs_lo(t[i], t[i + 2]);
      r[i + 1] = pairs_hi(t[i], t[i + 2]);
      r[i + 2] = pairs_lo(t[i + 1], t[i + 3]);
      r[i + 3] = pairs_hi(t[i + 1], t[i + 3]);
    }
    for (int h = 0; h < L; h += 8)  // t[h + q]: columns q, q + 8 (q < 4) or q - 4, q + 4
      for (int q = 0; q < 4; ++q) {
        t[h + q] = _mm512_shuffle_f32x4(r[h + q], r[h + q + 4], 0x88);
        t[h + q + 4] = _mm512_shuffle_f32x4(r[h + q], r[h + q + 4], 0xdd);
      }
    for (int q = 0; q < 8; ++q) {
      r[q] = _mm512_shuffle_f32x4(t[q], t[q + 8], 0x88);
      r[q + 8] = _mm512_shuffle_f32x4(t[q], t[q + 8], 0xdd);
    }
  }
  // Lane j: (L v + j) / K, the row of lane j of flat vector v.
  static __m512i rows_of_flat(int v, int K) {
    alignas(64) int32_t r[L];
    for (int j = 0; j < L; ++j) r[j] = (L * v + j) / K;
    return _mm512_load_si512(r);
  }
  static V spread(__m512i rows, V stat) { return _mm512_permutexvar_ps(rows, stat); }
  // Lane j: (L v + j) % K, the column of lane j of flat vector v.
  static V cols_of_flat(int v, int K) {
    alignas(64) T c[L];
    for (int j = 0; j < L; ++j) c[j] = static_cast<T>((L * v + j) % K);
    return _mm512_load_ps(c);
  }
};

struct F64 {
  using T = double;
  using V = __m512d;
  using Mask = __mmask8;
  static constexpr int L = 8;
  static V set1(T x) { return _mm512_set1_pd(x); }
  static V zero() { return _mm512_setzero_pd(); }
  static V loadu(const T* p) { return _mm512_loadu_pd(p); }
  static void storeu(T* p, V v) { _mm512_storeu_pd(p, v); }
  static V add(V a, V b) { return _mm512_add_pd(a, b); }
  static V sub(V a, V b) { return _mm512_sub_pd(a, b); }
  static V mul(V a, V b) { return _mm512_mul_pd(a, b); }
  static V div(V a, V b) { return _mm512_div_pd(a, b); }
  static V fmadd(V a, V b, V c) { return _mm512_fmadd_pd(a, b, c); }
  static V max(V a, V b) { return _mm512_max_pd(a, b); }
  static V min(V a, V b) { return _mm512_min_pd(a, b); }
  static __mmask8 gt(V a, V b) { return _mm512_cmp_pd_mask(a, b, _CMP_GT_OQ); }
  static __mmask8 unord(V a) { return _mm512_cmp_pd_mask(a, a, _CMP_UNORD_Q); }
  static V select(V a, __mmask8 take_b, V b) { return _mm512_mask_mov_pd(a, take_b, b); }
  static V add_if(V a, __mmask8 m, V b) { return _mm512_mask_add_pd(a, m, a, b); }
  static __mmask8 neq(V a, V b) { return _mm512_cmp_pd_mask(a, b, _CMP_NEQ_UQ); }
  static __mmask8 eq(V a, V b) { return _mm512_cmp_pd_mask(a, b, _CMP_EQ_OQ); }
  static V sub_if(V a, __mmask8 m, V b) { return _mm512_mask_sub_pd(a, m, a, b); }
  static V load_first(const T* p, int n) {
    return _mm512_maskz_loadu_pd(static_cast<Mask>((1u << n) - 1), p);
  }
  // In place: lane k of r[i] <-> lane i of r[k] (3 rounds of 8 shuffles).
  static void transpose(V* r) {
    V t[L];
    for (int i = 0; i < L; i += 2) {
      t[i] = _mm512_unpacklo_pd(r[i], r[i + 1]);
      t[i + 1] = _mm512_unpackhi_pd(r[i], r[i + 1]);
    }
    for (int i = 0; i < L; i += 4) {  // r[i + q]: rows i..i+3, columns q, q + 4
      r[i] = _mm512_shuffle_f64x2(t[i], t[i + 2], 0x88);
      r[i + 1] = _mm512_shuffle_f64x2(t[i + 1], t[i + 3], 0x88);
      r[i + 2] = _mm512_shuffle_f64x2(t[i], t[i + 2], 0xdd);
      r[i + 3] = _mm512_shuffle_f64x2(t[i + 1], t[i + 3], 0xdd);
    }
    for (int q = 0; q < 4; ++q) {
      t[q] = _mm512_shuffle_f64x2(r[q], r[q + 4], 0x88);
      t[q + 4] = _mm512_shuffle_f64x2(r[q], r[q + 4], 0xdd);
    }
    for (int q = 0; q < L; ++q) r[q] = t[q];
  }
  static __m512i rows_of_flat(int v, int K) {
    alignas(64) int64_t r[L];
    for (int j = 0; j < L; ++j) r[j] = (L * v + j) / K;
    return _mm512_load_si512(r);
  }
  static V spread(__m512i rows, V stat) { return _mm512_permutexvar_pd(rows, stat); }
  static V cols_of_flat(int v, int K) {
    alignas(64) T c[L];
    for (int j = 0; j < L; ++j) c[j] = static_cast<T>((L * v + j) % K);
    return _mm512_load_pd(c);
  }
};

// c[k] = column k of the block z (lane r = z[r K + k]), k < K. Each L x L tile is
// loaded row by row (masked) and transposed in registers (the columns left unused
// at the end of the last tile are never computed). Gathers are ~4x slower on Zen 4.
// c[i] = column j + i of the block z (lane r = z[r K + j + i]) for i < N and
// j + i < K, j a multiple of L: the L x L tile at column j is loaded row by row
// (masked) and transposed in registers; the columns not asked for are never
// computed. (Gathers are ~4x slower on Zen 4.)
template <typename S, int K, int N>
inline void load_tile(const typename S::T* z, int j, typename S::V* c) {
  constexpr int L = S::L;
  const int width = K - j < L ? K - j : L;
  typename S::V r[L];
#pragma GCC unroll 16
  for (int i = 0; i < L; ++i) r[i] = S::load_first(z + i * K + j, width);
  S::transpose(r);
#pragma GCC unroll 16
  for (int i = 0; i < N && i < width; ++i) c[i] = r[i];
}

// c[k] = column k of the block z, k < K.
template <typename S, int K>
inline void load_columns(const typename S::T* z, typename S::V* c) {
#pragma GCC unroll 4
  for (int j = 0; j < K; j += S::L) load_tile<S, K, S::L>(z, j, c + j);
}

// Calls block(a, b, out) on every block of L rows of A and B (b = nullptr when B
// is) and out: whole blocks in place, the last rows % L rows through zero-padded
// blocks on the stack.
template <typename S, int K, typename Block>
void for_blocks(const typename S::T* A, const typename S::T* B, int64_t rows, typename S::T* out,
                Block block) {
  using T = typename S::T;
  constexpr int64_t kBlock = int64_t(S::L) * K;
  int64_t i = 0;
  for (; i + S::L <= rows; i += S::L) block(A + i * K, B ? B + i * K : nullptr, out + i * K);
  if (i == rows) return;
  T a[kBlock] = {}, b[kBlock] = {}, o[kBlock];
  const size_t bytes = static_cast<size_t>((rows - i) * K) * sizeof(T);
  std::memcpy(a, A + i * K, bytes);
  if (B) std::memcpy(b, B + i * K, bytes);
  block(a, B ? b : nullptr, o);
  std::memcpy(out + i * K, o, bytes);
}

}  // namespace
}  // namespace avx512
}  // namespace simplex_detail
}  // namespace pyfastnn

#endif  // PYFASTNN_X86
