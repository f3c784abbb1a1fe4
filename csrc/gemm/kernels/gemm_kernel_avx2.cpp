// AVX2 + FMA kernels of the GEMM (see gemm_kernel.hpp for the layering and the
// packed layouts). Compiled with -mavx2 -mfma; called only after the run-time
// check in cpu.cpp.
//
// Everything here has internal linkage and uses no standard-library templates:
// a template or inline function instantiated in this translation unit would be
// compiled with AVX2 enabled, and the linker could then pick that copy for
// callers on the portable path too.
#ifdef PYFASTNN_X86

#include <immintrin.h>

#include <cstdint>

#include "gemm/gemm_kernel.hpp"

namespace pyfastnn {
namespace gemm_detail {
namespace avx2 {
namespace {

// ---- one 256-bit vector of float or double -------------------------------

struct F32 {
  using T = float;
  using V = __m256;
  static constexpr int W = 8;  // lanes
  static V zero() { return _mm256_setzero_ps(); }
  static V set1(T x) { return _mm256_set1_ps(x); }
  static V bcast(const T* p) { return _mm256_broadcast_ss(p); }
  static V load(const T* p) { return _mm256_load_ps(p); }  // 32-byte aligned
  static V loadu(const T* p) { return _mm256_loadu_ps(p); }
  static void storeu(T* p, V v) { _mm256_storeu_ps(p, v); }
  static V add(V a, V b) { return _mm256_add_ps(a, b); }
  static V mul(V a, V b) { return _mm256_mul_ps(a, b); }
  static V fmadd(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
  // Lanes [0, n) set, 0 <= n <= W.
  static __m256i mask(int64_t n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n)),
                              _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  }
  static V maskload(const T* p, __m256i m) { return _mm256_maskload_ps(p, m); }
  static void maskstore(T* p, __m256i m, V v) { _mm256_maskstore_ps(p, m, v); }
  static T hsum(V v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
};

struct F64 {
  using T = double;
  using V = __m256d;
  static constexpr int W = 4;
  static V zero() { return _mm256_setzero_pd(); }
  static V set1(T x) { return _mm256_set1_pd(x); }
  static V bcast(const T* p) { return _mm256_broadcast_sd(p); }
  static V load(const T* p) { return _mm256_load_pd(p); }
  static V loadu(const T* p) { return _mm256_loadu_pd(p); }
  static void storeu(T* p, V v) { _mm256_storeu_pd(p, v); }
  static V add(V a, V b) { return _mm256_add_pd(a, b); }
  static V mul(V a, V b) { return _mm256_mul_pd(a, b); }
  static V fmadd(V a, V b, V c) { return _mm256_fmadd_pd(a, b, c); }
  static __m256i mask(int64_t n) {
    return _mm256_cmpgt_epi64(_mm256_set1_epi64x(n), _mm256_setr_epi64x(0, 1, 2, 3));
  }
  static V maskload(const T* p, __m256i m) { return _mm256_maskload_pd(p, m); }
  static void maskstore(T* p, __m256i m, V v) { _mm256_maskstore_pd(p, m, v); }
  static T hsum(V v) {
    __m128d s = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
    s = _mm_add_sd(s, _mm_unpackhi_pd(s, s));
    return _mm_cvtsd_f64(s);
  }
};

// dst = acc + beta * dst (beta == 0: dst = acc, dst not read); full vector.
template <class S>
inline void store_beta(typename S::T* dst, typename S::V acc, typename S::T beta) {
  using T = typename S::T;
  if (beta == T(0))
    S::storeu(dst, acc);
  else if (beta == T(1))
    S::storeu(dst, S::add(S::loadu(dst), acc));
  else
    S::storeu(dst, S::fmadd(S::set1(beta), S::loadu(dst), acc));
}

// Same for the first n < W lanes.
template <class S>
inline void store_beta_masked(typename S::T* dst, __m256i m, typename S::V acc,
                              typename S::T beta) {
  using T = typename S::T;
  if (beta == T(0))
    S::maskstore(dst, m, acc);
  else if (beta == T(1))
    S::maskstore(dst, m, S::add(S::maskload(dst, m), acc));
  else
    S::maskstore(dst, m, S::fmadd(S::set1(beta), S::maskload(dst, m), acc));
}

// ---- micro-kernel ----------------------------------------------------------

// How the micro-kernel reads its MR x kc sliver of A (at(r, u): element
// (r, k + u) for the current k; advance(n): k += n).
//   PackedA: packed sliver, (r, k) at p[k*MR + r].
//   RowsA:   A in place, untransposed, (r, k) at A[r*lda + k]; rows 0-2 from
//            a0 + {0, 1, 2}*lda and rows 3-5 from a3 = a0 + 3*lda, so the
//            addresses stay base + index*scale (3 GPRs, no per-row pointers).
template <typename T>
struct PackedA {
  static constexpr int kUnroll = 4;  // k steps per loop iteration
  const T* p;
  PackedA(const T* ap, int64_t /*lda*/) : p(ap) {}
  const T* at(int r, int u) const { return p + u * 6 + r; }
  void advance(int k) { p += 6 * k; }
  void prefetch_ahead() const {  // two unrolled iterations ahead
    _mm_prefetch(reinterpret_cast<const char*>(p + 8 * 6), _MM_HINT_T0);
  }
};

template <typename T>
struct RowsA {
  // Unrolled by 4, GCC 12 spills two accumulators here (it does not for
  // PackedA); by 2 the loop stays in registers.
  static constexpr int kUnroll = 2;
  const T* a0;
  const T* a3;
  int64_t lda;
  RowsA(const T* a, int64_t ld) : a0(a), a3(a + 3 * ld), lda(ld) {}
  const T* at(int r, int u) const { return r < 3 ? a0 + r * lda + u : a3 + (r - 3) * lda + u; }
  void advance(int k) {
    a0 += k;
    a3 += k;
  }
  void prefetch_ahead() const {}  // six sequential streams: the hardware prefetcher's job
};

// Shapes: A sliver MR x kc (read through AS, see above), Bp packed kc x NR
// (Bp[k*NR + c], 32-byte aligned), C: MR x NR with row stride ldc.  MR = 6,
// NR = 2 vectors (16 float / 8 double). C = A @ Bp + beta * C.
//
// Register use: 12 accumulators + 2 B vectors + 1 broadcast A = 15 ymm, so any
// extra live value makes GCC spill accumulators inside the k loop (check the
// assembly after changes: the loop must have no stack references). In L1 this
// runs at ~98% of the FMA peak on Zen 4.
template <class S, template <typename> class AS>
void micro_kernel_impl(int64_t kc, AS<typename S::T> a, const typename S::T* Bp,
                       typename S::T* C, int64_t ldc, typename S::T beta) {
  using T = typename S::T;
  using V = typename S::V;
  constexpr int W = S::W;
  constexpr int MR = 6, NR = 2 * W;
  static_assert(MR == Blocking<T>::MR && NR == Blocking<T>::NR, "tile must match the packing");
  // The caller prefetches the C tile: doing it here costs registers.

  V c00 = S::zero(), c01 = S::zero(), c10 = S::zero(), c11 = S::zero();
  V c20 = S::zero(), c21 = S::zero(), c30 = S::zero(), c31 = S::zero();
  V c40 = S::zero(), c41 = S::zero(), c50 = S::zero(), c51 = S::zero();

#define PYFASTNN_UK_STEP(u)                                   \
  {                                                           \
    const V b0 = S::load(Bp + (u) * NR);                      \
    const V b1 = S::load(Bp + (u) * NR + W);                  \
    V x = S::bcast(a.at(0, u));                               \
    c00 = S::fmadd(x, b0, c00);                               \
    c01 = S::fmadd(x, b1, c01);                               \
    x = S::bcast(a.at(1, u));                                 \
    c10 = S::fmadd(x, b0, c10);                               \
    c11 = S::fmadd(x, b1, c11);                               \
    x = S::bcast(a.at(2, u));                                 \
    c20 = S::fmadd(x, b0, c20);                               \
    c21 = S::fmadd(x, b1, c21);                               \
    x = S::bcast(a.at(3, u));                                 \
    c30 = S::fmadd(x, b0, c30);                               \
    c31 = S::fmadd(x, b1, c31);                               \
    x = S::bcast(a.at(4, u));                                 \
    c40 = S::fmadd(x, b0, c40);                               \
    c41 = S::fmadd(x, b1, c41);                               \
    x = S::bcast(a.at(5, u));                                 \
    c50 = S::fmadd(x, b0, c50);                               \
    c51 = S::fmadd(x, b1, c51);                               \
  }

  constexpr int U = AS<T>::kUnroll;
  static_assert(U == 2 || U == 4, "unroll by 2 or 4");
  int64_t k = 0;
  for (; k + U <= kc; k += U) {
    a.prefetch_ahead();
    PYFASTNN_UK_STEP(0)
    PYFASTNN_UK_STEP(1)
    if constexpr (U == 4) {
      PYFASTNN_UK_STEP(2)
      PYFASTNN_UK_STEP(3)
    }
    a.advance(U);
    Bp += U * NR;
  }
  for (; k < kc; ++k) {
    PYFASTNN_UK_STEP(0)
    a.advance(1);
    Bp += NR;
  }
#undef PYFASTNN_UK_STEP

  store_beta<S>(C + 0 * ldc, c00, beta);
  store_beta<S>(C + 0 * ldc + W, c01, beta);
  store_beta<S>(C + 1 * ldc, c10, beta);
  store_beta<S>(C + 1 * ldc + W, c11, beta);
  store_beta<S>(C + 2 * ldc, c20, beta);
  store_beta<S>(C + 2 * ldc + W, c21, beta);
  store_beta<S>(C + 3 * ldc, c30, beta);
  store_beta<S>(C + 3 * ldc + W, c31, beta);
  store_beta<S>(C + 4 * ldc, c40, beta);
  store_beta<S>(C + 4 * ldc + W, c41, beta);
  store_beta<S>(C + 5 * ldc, c50, beta);
  store_beta<S>(C + 5 * ldc + W, c51, beta);
}

// Shapes: see MicroKernel in gemm_kernel.hpp.
template <class S>
void micro_kernel(int64_t kc, const typename S::T* Ap, const typename S::T* Bp,
                  typename S::T* C, int64_t ldc, typename S::T beta) {
  micro_kernel_impl<S, PackedA>(kc, PackedA<typename S::T>(Ap, 0), Bp, C, ldc, beta);
}

// Shapes: see MicroKernelRows in gemm_kernel.hpp.
template <class S>
void micro_kernel_rows(int64_t kc, const typename S::T* A, int64_t lda, const typename S::T* Bp,
                       typename S::T* C, int64_t ldc, typename S::T beta) {
  micro_kernel_impl<S, RowsA>(kc, RowsA<typename S::T>(A, lda), Bp, C, ldc, beta);
}

// ---- packing ---------------------------------------------------------------
// Shapes: see PackKernel in gemm_kernel.hpp. Full slivers only; the caller packs
// the edge sliver. Copies go 4 source rows at a time across all slivers.

// Copy one row segment of W elements (W = 16 / 6 float, 8 / 6 double).
inline void copy16(const float* s, float* d) {
  _mm256_storeu_ps(d, _mm256_loadu_ps(s));
  _mm256_storeu_ps(d + 8, _mm256_loadu_ps(s + 8));
}
inline void copy6(const float* s, float* d) {
  _mm_storeu_ps(d, _mm_loadu_ps(s));
  _mm_storel_pi(reinterpret_cast<__m64*>(d + 4),
                _mm_castpd_ps(_mm_load_sd(reinterpret_cast<const double*>(s + 4))));
}
inline void copy8(const double* s, double* d) {
  _mm256_storeu_pd(d, _mm256_loadu_pd(s));
  _mm256_storeu_pd(d + 4, _mm256_loadu_pd(s + 4));
}
inline void copy6(const double* s, double* d) {
  _mm256_storeu_pd(d, _mm256_loadu_pd(s));
  _mm_storeu_pd(d + 4, _mm_loadu_pd(s + 4));
}

template <typename T, int W, void (*Copy)(const T*, T*)>
void pack_copy(int64_t kc, int64_t ns, const T* src, int64_t ld, T* dst) {
  const int64_t sstride = W * kc;  // distance between slivers in dst
  int64_t k = 0;
  for (; k + 4 <= kc; k += 4) {
    const T* s = src + k * ld;
    T* d = dst + k * W;
    for (int64_t q = 0; q < ns; ++q, s += W, d += sstride) {
      Copy(s, d);
      Copy(s + ld, d + W);
      Copy(s + 2 * ld, d + 2 * W);
      Copy(s + 3 * ld, d + 3 * W);
    }
  }
  for (; k < kc; ++k) {
    const T* s = src + k * ld;
    T* d = dst + k * W;
    for (int64_t q = 0; q < ns; ++q, s += W, d += sstride) Copy(s, d);
  }
}

// Transpose kernels below handle one sliver; this runs them over ns slivers.
template <typename T, int W, void (*One)(int64_t, const T*, int64_t, T*)>
void pack_transpose(int64_t kc, int64_t ns, const T* src, int64_t ld, T* dst) {
  for (int64_t q = 0; q < ns; ++q) One(kc, src + q * W * ld, ld, dst + q * W * kc);
}

// 8 x 8 float transpose: in r[i] = row i (8 consecutive k), out r[k] = column k.
inline void transpose8x8_f32(__m256 r[8]) {
  const __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
  const __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
  const __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
  const __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
  const __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
  const __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
  const __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
  const __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
  r[0] = _mm256_permute2f128_ps(u0, u4, 0x20);
  r[1] = _mm256_permute2f128_ps(u1, u5, 0x20);
  r[2] = _mm256_permute2f128_ps(u2, u6, 0x20);
  r[3] = _mm256_permute2f128_ps(u3, u7, 0x20);
  r[4] = _mm256_permute2f128_ps(u0, u4, 0x31);
  r[5] = _mm256_permute2f128_ps(u1, u5, 0x31);
  r[6] = _mm256_permute2f128_ps(u2, u6, 0x31);
  r[7] = _mm256_permute2f128_ps(u3, u7, 0x31);
}

// Transpose, float, W = 16 (B transposed): 16 rows, 8 k per step, two 8 x 8 blocks.
void transpose16_f32(int64_t kc, const float* src, int64_t ld, float* dst) {
  int64_t k = 0;
  for (; k + 8 <= kc; k += 8) {
    for (int h = 0; h < 2; ++h) {
      __m256 r[8];
      for (int i = 0; i < 8; ++i) r[i] = _mm256_loadu_ps(src + (8 * h + i) * ld + k);
      transpose8x8_f32(r);
      for (int i = 0; i < 8; ++i) _mm256_storeu_ps(dst + (k + i) * 16 + 8 * h, r[i]);
    }
  }
  for (; k < kc; ++k)
    for (int c = 0; c < 16; ++c) dst[k * 16 + c] = src[c * ld + k];
}

// Transpose, float, W = 6 (A untransposed): 6 rows, 8 k per step. Rows 0-3 go
// through a 4 x 4 transpose per 128-bit lane, rows 4-5 are interleaved in pairs.
void transpose6_f32(int64_t kc, const float* src, int64_t ld, float* dst) {
  const float* s0 = src;
  const float* s1 = s0 + ld;
  const float* s2 = s1 + ld;
  const float* s3 = s2 + ld;
  const float* s4 = s3 + ld;
  const float* s5 = s4 + ld;
  int64_t k = 0;
  for (; k + 8 <= kc; k += 8) {
    const __m256 r0 = _mm256_loadu_ps(s0 + k), r1 = _mm256_loadu_ps(s1 + k);
    const __m256 r2 = _mm256_loadu_ps(s2 + k), r3 = _mm256_loadu_ps(s3 + k);
    const __m256 r4 = _mm256_loadu_ps(s4 + k), r5 = _mm256_loadu_ps(s5 + k);
    const __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
    const __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
    // q[j] = rows 0-3 of column k+j (low lane) and k+4+j (high lane)
    const __m256 q0 = _mm256_shuffle_ps(t0, t2, 0x44), q1 = _mm256_shuffle_ps(t0, t2, 0xEE);
    const __m256 q2 = _mm256_shuffle_ps(t1, t3, 0x44), q3 = _mm256_shuffle_ps(t1, t3, 0xEE);
    // p0 = rows 4-5 of columns k, k+1 | k+4, k+5;  p1 = k+2, k+3 | k+6, k+7
    const __m256 p0 = _mm256_unpacklo_ps(r4, r5), p1 = _mm256_unpackhi_ps(r4, r5);
    const __m128 p0l = _mm256_castps256_ps128(p0), p0h = _mm256_extractf128_ps(p0, 1);
    const __m128 p1l = _mm256_castps256_ps128(p1), p1h = _mm256_extractf128_ps(p1, 1);
    float* d = dst + k * 6;
    _mm_storeu_ps(d + 0, _mm256_castps256_ps128(q0));
    _mm_storel_pi(reinterpret_cast<__m64*>(d + 4), p0l);
    _mm_storeu_ps(d + 6, _mm256_castps256_ps128(q1));
    _mm_storeh_pi(reinterpret_cast<__m64*>(d + 10), p0l);
    _mm_storeu_ps(d + 12, _mm256_castps256_ps128(q2));
    _mm_storel_pi(reinterpret_cast<__m64*>(d + 16), p1l);
    _mm_storeu_ps(d + 18, _mm256_castps256_ps128(q3));
    _mm_storeh_pi(reinterpret_cast<__m64*>(d + 22), p1l);
    _mm_storeu_ps(d + 24, _mm256_extractf128_ps(q0, 1));
    _mm_storel_pi(reinterpret_cast<__m64*>(d + 28), p0h);
    _mm_storeu_ps(d + 30, _mm256_extractf128_ps(q1, 1));
    _mm_storeh_pi(reinterpret_cast<__m64*>(d + 34), p0h);
    _mm_storeu_ps(d + 36, _mm256_extractf128_ps(q2, 1));
    _mm_storel_pi(reinterpret_cast<__m64*>(d + 40), p1h);
    _mm_storeu_ps(d + 42, _mm256_extractf128_ps(q3, 1));
    _mm_storeh_pi(reinterpret_cast<__m64*>(d + 46), p1h);
  }
  for (; k < kc; ++k) {
    float* d = dst + k * 6;
    d[0] = s0[k], d[1] = s1[k], d[2] = s2[k], d[3] = s3[k], d[4] = s4[k], d[5] = s5[k];
  }
}

// Transpose, double, W = 8 (B transposed): 8 rows, 4 k per step, two 4 x 4 blocks.
void transpose8_f64(int64_t kc, const double* src, int64_t ld, double* dst) {
  int64_t k = 0;
  for (; k + 4 <= kc; k += 4) {
    for (int h = 0; h < 2; ++h) {
      const double* s = src + 4 * h * ld + k;
      const __m256d r0 = _mm256_loadu_pd(s), r1 = _mm256_loadu_pd(s + ld);
      const __m256d r2 = _mm256_loadu_pd(s + 2 * ld), r3 = _mm256_loadu_pd(s + 3 * ld);
      const __m256d t0 = _mm256_unpacklo_pd(r0, r1), t1 = _mm256_unpackhi_pd(r0, r1);
      const __m256d t2 = _mm256_unpacklo_pd(r2, r3), t3 = _mm256_unpackhi_pd(r2, r3);
      double* d = dst + k * 8 + 4 * h;
      _mm256_storeu_pd(d, _mm256_permute2f128_pd(t0, t2, 0x20));
      _mm256_storeu_pd(d + 8, _mm256_permute2f128_pd(t1, t3, 0x20));
      _mm256_storeu_pd(d + 16, _mm256_permute2f128_pd(t0, t2, 0x31));
      _mm256_storeu_pd(d + 24, _mm256_permute2f128_pd(t1, t3, 0x31));
    }
  }
  for (; k < kc; ++k)
    for (int c = 0; c < 8; ++c) dst[k * 8 + c] = src[c * ld + k];
}

// Transpose, double, W = 6 (A untransposed): 6 rows, 4 k per step, rows
// interleaved in pairs and stored 2 at a time.
void transpose6_f64(int64_t kc, const double* src, int64_t ld, double* dst) {
  const double* s0 = src;
  const double* s1 = s0 + ld;
  const double* s2 = s1 + ld;
  const double* s3 = s2 + ld;
  const double* s4 = s3 + ld;
  const double* s5 = s4 + ld;
  int64_t k = 0;
  for (; k + 4 <= kc; k += 4) {
    const __m256d r0 = _mm256_loadu_pd(s0 + k), r1 = _mm256_loadu_pd(s1 + k);
    const __m256d r2 = _mm256_loadu_pd(s2 + k), r3 = _mm256_loadu_pd(s3 + k);
    const __m256d r4 = _mm256_loadu_pd(s4 + k), r5 = _mm256_loadu_pd(s5 + k);
    // pairs of rows for columns k, k+2 (lo) and k+1, k+3 (hi)
    const __m256d a0 = _mm256_unpacklo_pd(r0, r1), a1 = _mm256_unpackhi_pd(r0, r1);
    const __m256d b0 = _mm256_unpacklo_pd(r2, r3), b1 = _mm256_unpackhi_pd(r2, r3);
    const __m256d c0 = _mm256_unpacklo_pd(r4, r5), c1 = _mm256_unpackhi_pd(r4, r5);
    double* d = dst + k * 6;
    _mm256_storeu_pd(d + 0, _mm256_permute2f128_pd(a0, b0, 0x20));
    _mm_storeu_pd(d + 4, _mm256_castpd256_pd128(c0));
    _mm256_storeu_pd(d + 6, _mm256_permute2f128_pd(a1, b1, 0x20));
    _mm_storeu_pd(d + 10, _mm256_castpd256_pd128(c1));
    _mm256_storeu_pd(d + 12, _mm256_permute2f128_pd(a0, b0, 0x31));
    _mm_storeu_pd(d + 16, _mm256_extractf128_pd(c0, 1));
    _mm256_storeu_pd(d + 18, _mm256_permute2f128_pd(a1, b1, 0x31));
    _mm_storeu_pd(d + 22, _mm256_extractf128_pd(c1, 1));
  }
  for (; k < kc; ++k) {
    double* d = dst + k * 6;
    d[0] = s0[k], d[1] = s1[k], d[2] = s2[k], d[3] = s3[k], d[4] = s4[k], d[5] = s5[k];
  }
}

// ---- matrix-vector kernels -------------------------------------------------

// Shapes: X n x k (row stride ldx), x[k], y[n].  y = X @ x + beta * y.
template <class S>
void dot_rows(int64_t n, int64_t k, const typename S::T* X, int64_t ldx,
              const typename S::T* x, typename S::T beta, typename S::T* y) {
  using T = typename S::T;
  using V = typename S::V;
  constexpr int W = S::W;
  const int64_t k2 = k - k % (2 * W);  // end of the 2-vector steps
  const int64_t k1 = k - k % W;        // end of the 1-vector steps
  const __m256i mt = S::mask(k - k1);  // lanes of the masked tail
  int64_t j = 0;
  // Four rows at a time, two accumulators per row: 8 independent FMA chains.
  for (; j + 4 <= n; j += 4) {
    const T* r0 = X + j * ldx;
    const T* r1 = r0 + ldx;
    const T* r2 = r1 + ldx;
    const T* r3 = r2 + ldx;
    V a0 = S::zero(), a1 = S::zero(), a2 = S::zero(), a3 = S::zero();
    V b0 = S::zero(), b1 = S::zero(), b2 = S::zero(), b3 = S::zero();
    int64_t p = 0;
    for (; p < k2; p += 2 * W) {
      const V x0 = S::loadu(x + p), x1 = S::loadu(x + p + W);
      a0 = S::fmadd(S::loadu(r0 + p), x0, a0);
      a1 = S::fmadd(S::loadu(r1 + p), x0, a1);
      a2 = S::fmadd(S::loadu(r2 + p), x0, a2);
      a3 = S::fmadd(S::loadu(r3 + p), x0, a3);
      b0 = S::fmadd(S::loadu(r0 + p + W), x1, b0);
      b1 = S::fmadd(S::loadu(r1 + p + W), x1, b1);
      b2 = S::fmadd(S::loadu(r2 + p + W), x1, b2);
      b3 = S::fmadd(S::loadu(r3 + p + W), x1, b3);
    }
    for (; p < k1; p += W) {
      const V x0 = S::loadu(x + p);
      a0 = S::fmadd(S::loadu(r0 + p), x0, a0);
      a1 = S::fmadd(S::loadu(r1 + p), x0, a1);
      a2 = S::fmadd(S::loadu(r2 + p), x0, a2);
      a3 = S::fmadd(S::loadu(r3 + p), x0, a3);
    }
    if (p < k) {
      const V x0 = S::maskload(x + p, mt);
      a0 = S::fmadd(S::maskload(r0 + p, mt), x0, a0);
      a1 = S::fmadd(S::maskload(r1 + p, mt), x0, a1);
      a2 = S::fmadd(S::maskload(r2 + p, mt), x0, a2);
      a3 = S::fmadd(S::maskload(r3 + p, mt), x0, a3);
    }
    T s[4] = {S::hsum(S::add(a0, b0)), S::hsum(S::add(a1, b1)), S::hsum(S::add(a2, b2)),
              S::hsum(S::add(a3, b3))};
    for (int u = 0; u < 4; ++u) y[j + u] = beta == T(0) ? s[u] : s[u] + beta * y[j + u];
  }
  for (; j < n; ++j) {
    const T* r0 = X + j * ldx;
    V a0 = S::zero(), b0 = S::zero();
    int64_t p = 0;
    for (; p < k2; p += 2 * W) {
      a0 = S::fmadd(S::loadu(r0 + p), S::loadu(x + p), a0);
      b0 = S::fmadd(S::loadu(r0 + p + W), S::loadu(x + p + W), b0);
    }
    for (; p < k1; p += W) a0 = S::fmadd(S::loadu(r0 + p), S::loadu(x + p), a0);
    if (p < k) a0 = S::fmadd(S::maskload(r0 + p, mt), S::maskload(x + p, mt), a0);
    const T s = S::hsum(S::add(a0, b0));
    y[j] = beta == T(0) ? s : s + beta * y[j];
  }
}

// Columns [0, NV * W + w) of y = x @ X + beta * y, X k x n (row stride ldx),
// the last w < W of them masked (none when w == 0). Each vector of columns
// has two FMA chains, over the even and the odd rows in order, added at the
// end. Every column of axpy_rows is summed this way, so its value does not
// depend on where a column range starts, i.e. on how the columns were split
// among threads.
template <class S, int NV>
void axpy_columns(int64_t k, const typename S::T* X, int64_t ldx, const typename S::T* x,
                  typename S::T beta, typename S::T* y, int64_t w) {
  using V = typename S::V;
  constexpr int W = S::W;
  constexpr int NA = NV > 0 ? NV : 1;
  const __m256i m = S::mask(w);
  V even[NA], odd[NA];
  for (int v = 0; v < NA; ++v) even[v] = odd[v] = S::zero();
  V tail_even = S::zero(), tail_odd = S::zero();
  const typename S::T* xr = X;
  int64_t p = 0;
  for (; p + 2 <= k; p += 2, xr += 2 * ldx) {
    const V x0 = S::bcast(x + p), x1 = S::bcast(x + p + 1);
    for (int v = 0; v < NV; ++v) {
      even[v] = S::fmadd(x0, S::loadu(xr + v * W), even[v]);
      odd[v] = S::fmadd(x1, S::loadu(xr + ldx + v * W), odd[v]);
    }
    if (w > 0) {
      tail_even = S::fmadd(x0, S::maskload(xr + NV * W, m), tail_even);
      tail_odd = S::fmadd(x1, S::maskload(xr + ldx + NV * W, m), tail_odd);
    }
  }
  if (p < k) {
    const V x0 = S::bcast(x + p);
    for (int v = 0; v < NV; ++v) even[v] = S::fmadd(x0, S::loadu(xr + v * W), even[v]);
    if (w > 0) tail_even = S::fmadd(x0, S::maskload(xr + NV * W, m), tail_even);
  }
  for (int v = 0; v < NV; ++v) store_beta<S>(y + v * W, S::add(even[v], odd[v]), beta);
  if (w > 0) store_beta_masked<S>(y + NV * W, m, S::add(tail_even, tail_odd), beta);
}

// Shapes: X k x n (row stride ldx), x[k], y[n].  y = x @ X + beta * y.
// 4 vectors (32 float / 16 double columns) per pass over the k rows, two rows
// per step: 8 independent FMA chains, a row segment of 2 (float) cache lines
// per row; then the last < 4 vectors in one pass.
template <class S>
void axpy_rows(int64_t n, int64_t k, const typename S::T* X, int64_t ldx,
               const typename S::T* x, typename S::T beta, typename S::T* y) {
  constexpr int W = S::W;
  int64_t j = 0;
  for (; j + 4 * W <= n; j += 4 * W) axpy_columns<S, 4>(k, X + j, ldx, x, beta, y + j, 0);
  const int64_t w = (n - j) % W;
  switch ((n - j) / W) {
    case 0:
      if (w > 0) axpy_columns<S, 0>(k, X + j, ldx, x, beta, y + j, w);
      break;
    case 1: axpy_columns<S, 1>(k, X + j, ldx, x, beta, y + j, w); break;
    case 2: axpy_columns<S, 2>(k, X + j, ldx, x, beta, y + j, w); break;
    default: axpy_columns<S, 3>(k, X + j, ldx, x, beta, y + j, w); break;
  }
}

// Shapes: x[n], y[n].  y = alpha * x + beta * y.
template <class S>
void axpby(int64_t n, typename S::T alpha, const typename S::T* x, typename S::T beta,
           typename S::T* y) {
  using V = typename S::V;
  constexpr int W = S::W;
  const V va = S::set1(alpha);
  int64_t j = 0;
  for (; j + 4 * W <= n; j += 4 * W) {
    store_beta<S>(y + j, S::mul(va, S::loadu(x + j)), beta);
    store_beta<S>(y + j + W, S::mul(va, S::loadu(x + j + W)), beta);
    store_beta<S>(y + j + 2 * W, S::mul(va, S::loadu(x + j + 2 * W)), beta);
    store_beta<S>(y + j + 3 * W, S::mul(va, S::loadu(x + j + 3 * W)), beta);
  }
  for (; j + W <= n; j += W) store_beta<S>(y + j, S::mul(va, S::loadu(x + j)), beta);
  if (j < n) {
    const __m256i m = S::mask(n - j);
    store_beta_masked<S>(y + j, m, S::mul(va, S::maskload(x + j, m)), beta);
  }
}

}  // namespace

KernelSet<float> kernels_f32() {
  static_assert(Blocking<float>::MR == 6 && Blocking<float>::NR == 16, "pack kernel widths");
  return {&micro_kernel<F32>,
          &micro_kernel_rows<F32>,
          &pack_copy<float, 6, copy6>,
          &pack_transpose<float, 6, transpose6_f32>,
          &pack_copy<float, 16, copy16>,
          &pack_transpose<float, 16, transpose16_f32>,
          &dot_rows<F32>,
          &axpy_rows<F32>,
          &axpby<F32>,
          block_sizes<Blocking<float>>};
}

KernelSet<double> kernels_f64() {
  static_assert(Blocking<double>::MR == 6 && Blocking<double>::NR == 8, "pack kernel widths");
  return {&micro_kernel<F64>,
          &micro_kernel_rows<F64>,
          &pack_copy<double, 6, copy6>,
          &pack_transpose<double, 6, transpose6_f64>,
          &pack_copy<double, 8, copy8>,
          &pack_transpose<double, 8, transpose8_f64>,
          &dot_rows<F64>,
          &axpy_rows<F64>,
          &axpby<F64>,
          block_sizes<Blocking<double>>};
}

}  // namespace avx2
}  // namespace gemm_detail
}  // namespace pyfastnn

#endif  // PYFASTNN_X86
