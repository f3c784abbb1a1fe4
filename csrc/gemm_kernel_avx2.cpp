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

#include "gemm_kernel.hpp"

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

// Shapes: Ap packed MR x kc (Ap[k*MR + r]), Bp packed kc x NR (Bp[k*NR + c], 32-byte
// aligned), C: MR x NR with row stride ldc.  MR = 6, NR = 2 vectors (16 float /
// 8 double). C = Ap @ Bp + beta * C.
template <class S>
void micro_kernel(int64_t kc, const typename S::T* __restrict Ap,
                  const typename S::T* __restrict Bp, typename S::T* __restrict C, int64_t ldc,
                  typename S::T beta) {
  using T = typename S::T;
  using V = typename S::V;
  constexpr int W = S::W;
  constexpr int MR = 6, NR = 2 * W;
  static_assert(MR == Blocking<T>::MR && NR == Blocking<T>::NR, "tile must match the packing");

  // Bring the C tile towards L1 while the k loop runs (last byte of each row too:
  // a row of NR elements may straddle two cache lines).
  for (int r = 0; r < MR; ++r) {
    _mm_prefetch(reinterpret_cast<const char*>(C + r * ldc), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(C + r * ldc + NR - 1), _MM_HINT_T0);
  }

  V c00 = S::zero(), c01 = S::zero(), c10 = S::zero(), c11 = S::zero();
  V c20 = S::zero(), c21 = S::zero(), c30 = S::zero(), c31 = S::zero();
  V c40 = S::zero(), c41 = S::zero(), c50 = S::zero(), c51 = S::zero();

#define PYFASTNN_UK_STEP(u)                                   \
  {                                                           \
    const V b0 = S::load(Bp + (u) * NR);                      \
    const V b1 = S::load(Bp + (u) * NR + W);                  \
    V a = S::bcast(Ap + (u) * MR + 0);                        \
    c00 = S::fmadd(a, b0, c00);                               \
    c01 = S::fmadd(a, b1, c01);                               \
    a = S::bcast(Ap + (u) * MR + 1);                          \
    c10 = S::fmadd(a, b0, c10);                               \
    c11 = S::fmadd(a, b1, c11);                               \
    a = S::bcast(Ap + (u) * MR + 2);                          \
    c20 = S::fmadd(a, b0, c20);                               \
    c21 = S::fmadd(a, b1, c21);                               \
    a = S::bcast(Ap + (u) * MR + 3);                          \
    c30 = S::fmadd(a, b0, c30);                               \
    c31 = S::fmadd(a, b1, c31);                               \
    a = S::bcast(Ap + (u) * MR + 4);                          \
    c40 = S::fmadd(a, b0, c40);                               \
    c41 = S::fmadd(a, b1, c41);                               \
    a = S::bcast(Ap + (u) * MR + 5);                          \
    c50 = S::fmadd(a, b0, c50);                               \
    c51 = S::fmadd(a, b1, c51);                               \
  }

  int64_t k = 0;
  for (; k + 4 <= kc; k += 4) {  // unrolled by 4
    _mm_prefetch(reinterpret_cast<const char*>(Ap + 8 * MR), _MM_HINT_T0);
    PYFASTNN_UK_STEP(0)
    PYFASTNN_UK_STEP(1)
    PYFASTNN_UK_STEP(2)
    PYFASTNN_UK_STEP(3)
    Ap += 4 * MR;
    Bp += 4 * NR;
  }
  for (; k < kc; ++k) {
    PYFASTNN_UK_STEP(0)
    Ap += MR;
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

// Shapes: X k x n (row stride ldx), x[k], y[n].  y = x @ X + beta * y.
template <class S>
void axpy_rows(int64_t n, int64_t k, const typename S::T* X, int64_t ldx,
               const typename S::T* x, typename S::T beta, typename S::T* y) {
  using T = typename S::T;
  using V = typename S::V;
  constexpr int W = S::W;
  int64_t j = 0;
  // 8 vectors (64 float / 32 double columns) per pass over the k rows: 8
  // independent FMA chains, one row segment of 4 (float) cache lines per step.
  for (; j + 8 * W <= n; j += 8 * W) {
    V a0 = S::zero(), a1 = S::zero(), a2 = S::zero(), a3 = S::zero();
    V a4 = S::zero(), a5 = S::zero(), a6 = S::zero(), a7 = S::zero();
    const T* xr = X + j;
    for (int64_t p = 0; p < k; ++p, xr += ldx) {
      const V xp = S::bcast(x + p);
      a0 = S::fmadd(xp, S::loadu(xr + 0 * W), a0);
      a1 = S::fmadd(xp, S::loadu(xr + 1 * W), a1);
      a2 = S::fmadd(xp, S::loadu(xr + 2 * W), a2);
      a3 = S::fmadd(xp, S::loadu(xr + 3 * W), a3);
      a4 = S::fmadd(xp, S::loadu(xr + 4 * W), a4);
      a5 = S::fmadd(xp, S::loadu(xr + 5 * W), a5);
      a6 = S::fmadd(xp, S::loadu(xr + 6 * W), a6);
      a7 = S::fmadd(xp, S::loadu(xr + 7 * W), a7);
    }
    store_beta<S>(y + j + 0 * W, a0, beta);
    store_beta<S>(y + j + 1 * W, a1, beta);
    store_beta<S>(y + j + 2 * W, a2, beta);
    store_beta<S>(y + j + 3 * W, a3, beta);
    store_beta<S>(y + j + 4 * W, a4, beta);
    store_beta<S>(y + j + 5 * W, a5, beta);
    store_beta<S>(y + j + 6 * W, a6, beta);
    store_beta<S>(y + j + 7 * W, a7, beta);
  }
  // Remaining columns: 2 vectors at a time, 2 rows per step (4 chains).
  for (; j + 2 * W <= n; j += 2 * W) {
    V a0 = S::zero(), a1 = S::zero(), b0 = S::zero(), b1 = S::zero();
    const T* xr = X + j;
    int64_t p = 0;
    for (; p + 2 <= k; p += 2, xr += 2 * ldx) {
      const V x0 = S::bcast(x + p), x1 = S::bcast(x + p + 1);
      a0 = S::fmadd(x0, S::loadu(xr), a0);
      a1 = S::fmadd(x0, S::loadu(xr + W), a1);
      b0 = S::fmadd(x1, S::loadu(xr + ldx), b0);
      b1 = S::fmadd(x1, S::loadu(xr + ldx + W), b1);
    }
    if (p < k) {
      const V x0 = S::bcast(x + p);
      a0 = S::fmadd(x0, S::loadu(xr), a0);
      a1 = S::fmadd(x0, S::loadu(xr + W), a1);
    }
    store_beta<S>(y + j, S::add(a0, b0), beta);
    store_beta<S>(y + j + W, S::add(a1, b1), beta);
  }
  // Last < 2W columns: up to two (possibly partial) vectors, masked.
  while (j < n) {
    const int64_t w = n - j < W ? n - j : W;
    const __m256i m = S::mask(w);
    V a0 = S::zero(), b0 = S::zero();
    const T* xr = X + j;
    int64_t p = 0;
    for (; p + 2 <= k; p += 2, xr += 2 * ldx) {
      a0 = S::fmadd(S::bcast(x + p), S::maskload(xr, m), a0);
      b0 = S::fmadd(S::bcast(x + p + 1), S::maskload(xr + ldx, m), b0);
    }
    if (p < k) a0 = S::fmadd(S::bcast(x + p), S::maskload(xr, m), a0);
    store_beta_masked<S>(y + j, m, S::add(a0, b0), beta);
    j += w;
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
  return {&micro_kernel<F32>, &dot_rows<F32>, &axpy_rows<F32>, &axpby<F32>};
}

KernelSet<double> kernels_f64() {
  return {&micro_kernel<F64>, &dot_rows<F64>, &axpy_rows<F64>, &axpby<F64>};
}

}  // namespace avx2
}  // namespace gemm_detail
}  // namespace pyfastnn

#endif  // PYFASTNN_X86
