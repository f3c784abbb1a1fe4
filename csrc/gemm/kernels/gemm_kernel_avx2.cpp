// AVX2 + FMA kernels of the GEMM (see gemm_kernel.hpp for the layering and the
// packed layouts). Compiled with -mavx2 -mfma; called only after the run-time
// check in cpu.cpp.
//
// The micro-kernel and most of the packing are the shared templates
// (micro_kernel.hpp, pack.hpp) on the 6 x 16 float / 6 x 8 double tile of
// Blocking; what is AVX2's own: the 6-wide packing of A and the
// matrix-vector kernels (which the AVX-512 family uses too).
//
// Everything here has internal linkage and uses no standard-library templates:
// a template or inline function instantiated in this translation unit would be
// compiled with AVX2 enabled, and the linker could then pick that copy for
// callers on the portable path too.
#ifdef PYFASTNN_X86

#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "gemm/gemm_kernel.hpp"
#include "gemm/kernels/micro_kernel.hpp"
#include "gemm/kernels/pack.hpp"
#include "simd/vec_avx2.hpp"

namespace pyfastnn {
namespace gemm_detail {
namespace avx2 {
namespace {

using simd::avx2::F32;
using simd::avx2::F64;

// Same as store_beta (micro_kernel.hpp) for the lanes of m.
template <class S>
inline void store_beta_masked(typename S::T* dst, typename S::Mask m, typename S::V acc,
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

// k steps per iteration of the micro-kernel's loop when A is read in place:
// unrolled by 4, GCC 12 spills two accumulators (it does not for packed A); by
// 2 the loop stays in registers. (Register use: 12 accumulators + 2 B vectors
// + 1 broadcast = 15 of the 16 ymm; in L1 the kernel runs at ~98% of the FMA
// peak on Zen 4.)
constexpr int kRowsUnroll = 2;

// ---- packing ---------------------------------------------------------------
// Shapes: see PackKernel in gemm_kernel.hpp. The 16 (float) / 8 (double) wide
// slivers of B go through pack.hpp; the 6-row slivers of A are done here.

// Copy one row segment of 6 elements. The last two floats go through memcpy
// (one 8-byte move), not a load of a double: s + 4 need not be 8-byte aligned,
// and a float is not a double (no type pun).
inline void copy6(const float* s, float* d) {
  _mm_storeu_ps(d, _mm_loadu_ps(s));
  std::memcpy(d + 4, s + 4, 2 * sizeof(float));
}
inline void copy6(const double* s, double* d) {
  _mm256_storeu_pd(d, _mm256_loadu_pd(s));
  _mm_storeu_pd(d + 4, _mm_loadu_pd(s + 4));
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
  transpose_tail<float, 6>(k, kc, src, ld, dst);
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
  transpose_tail<double, 6>(k, kc, src, ld, dst);
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
  const typename S::Mask mt = S::mask(k - k1);  // lanes of the masked tail
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
  const typename S::Mask m = S::mask(w);
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
    const typename S::Mask m = S::mask(n - j);
    store_beta_masked<S>(y + j, m, S::mul(va, S::maskload(x + j, m)), beta);
  }
}

}  // namespace

KernelSet<float> kernels_f32() {
  using Tile = Blocking<float>;
  static_assert(Tile::MR == 6 && Tile::NR == 16, "pack kernel widths");
  KernelSet<float> ks{&micro_kernel<F32, Tile>,
                      &micro_kernel_rows<F32, Tile, kRowsUnroll>,
                      &pack_copy<float, 6, copy6>,
                      &pack_transpose<float, 6, transpose6_f32>,
                      &pack_copy<float, 16, copy_vectors<F32, 2>>,
                      &pack_transpose<float, 16, transpose_sliver<F32, 16>>,
                      &dot_rows<F32>,
                      &axpy_rows<F32>,
                      &axpby<F32>,
                      block_sizes<Tile>};
  ks.micro_half = &micro_kernel_part<F32, Tile, 8>;
  ks.micro_rows_half = &micro_kernel_rows_part<F32, Tile, 8, kRowsUnroll>;
  return ks;
}

KernelSet<double> kernels_f64() {
  using Tile = Blocking<double>;
  static_assert(Tile::MR == 6 && Tile::NR == 8, "pack kernel widths");
  KernelSet<double> ks{&micro_kernel<F64, Tile>,
                        &micro_kernel_rows<F64, Tile, kRowsUnroll>,
                        &pack_copy<double, 6, copy6>,
                        &pack_transpose<double, 6, transpose6_f64>,
                        &pack_copy<double, 8, copy_vectors<F64, 2>>,
                        &pack_transpose<double, 8, transpose_sliver<F64, 8>>,
                        &dot_rows<F64>,
                        &axpy_rows<F64>,
                        &axpby<F64>,
                        block_sizes<Tile>};
  ks.micro_half = &micro_kernel_part<F64, Tile, 4>;
  ks.micro_rows_half = &micro_kernel_rows_part<F64, Tile, 4, kRowsUnroll>;
  return ks;
}

}  // namespace avx2
}  // namespace gemm_detail
}  // namespace pyfastnn

#endif  // PYFASTNN_X86
