// AVX-512 kernels of the GEMM (see gemm_kernel.hpp for the layering and the
// packed layouts; tile and block sizes in BlockingAvx512). Compiled with
// -mavx512f -mavx512vl -mavx512bw -mavx512dq -mfma; called only after the
// run-time check in cpu.cpp.
//
// Only the micro-kernels and the packing (whose widths follow the tile) are
// new; the matrix-vector kernels are taken from the AVX2 family (memory-bound:
// wider vectors gain nothing there).
//
// Everything here has internal linkage and uses no standard-library templates:
// a template or inline function instantiated in this translation unit would be
// compiled with AVX-512 enabled, and the linker could then pick that copy for
// callers on the other paths too.
#ifdef PYFASTNN_X86

#include <immintrin.h>

#include <cstdint>

#include "gemm/gemm_kernel.hpp"

namespace pyfastnn {
namespace gemm_detail {
namespace avx512 {
namespace {

// ---- one 512-bit vector of float or double -------------------------------

struct F32 {
  using T = float;
  using V = __m512;
  static constexpr int W = 16;  // lanes
  static V zero() { return _mm512_setzero_ps(); }
  static V set1(T x) { return _mm512_set1_ps(x); }
  static V bcast(const T* p) { return _mm512_set1_ps(*p); }
  static V load(const T* p) { return _mm512_load_ps(p); }  // 64-byte aligned
  static V loadu(const T* p) { return _mm512_loadu_ps(p); }
  // Lanes [0, n) of p, zeros elsewhere (nothing else is read); any n.
  static V first_n(int64_t n, const T* p) {
    const unsigned bits = n <= 0 ? 0u : n >= W ? 0xFFFFu : (1u << n) - 1u;
    return _mm512_maskz_loadu_ps(_cvtu32_mask16(bits), p);
  }
  static void storeu(T* p, V v) { _mm512_storeu_ps(p, v); }
  static V add(V a, V b) { return _mm512_add_ps(a, b); }
  static V fmadd(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
};

struct F64 {
  using T = double;
  using V = __m512d;
  static constexpr int W = 8;
  static V zero() { return _mm512_setzero_pd(); }
  static V set1(T x) { return _mm512_set1_pd(x); }
  static V bcast(const T* p) { return _mm512_set1_pd(*p); }
  static V load(const T* p) { return _mm512_load_pd(p); }
  static V loadu(const T* p) { return _mm512_loadu_pd(p); }
  static V first_n(int64_t n, const T* p) {
    const unsigned bits = n <= 0 ? 0u : n >= W ? 0xFFu : (1u << n) - 1u;
    return _mm512_maskz_loadu_pd(_cvtu32_mask8(bits), p);
  }
  static void storeu(T* p, V v) { _mm512_storeu_pd(p, v); }
  static V add(V a, V b) { return _mm512_add_pd(a, b); }
  static V fmadd(V a, V b, V c) { return _mm512_fmadd_pd(a, b, c); }
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

// ---- micro-kernel ----------------------------------------------------------

constexpr int kMR = 8;  // BlockingAvx512<T>::MR for both dtypes

// How the micro-kernel reads its MR x kc sliver of A (at(r, u): element
// (r, k + u) for the current k; advance(n): k += n).
//   PackedA: packed sliver, (r, k) at p[k*MR + r].
//   RowsA:   A in place, untransposed, (r, k) at A[r*lda + k]; rows 0-3 from
//            a0 and rows 4-7 from a4 = a0 + 4*lda.
template <typename T>
struct PackedA {
  static constexpr int kUnroll = 4;  // k steps per loop iteration
  const T* p;
  PackedA(const T* ap, int64_t /*lda*/) : p(ap) {}
  const T* at(int r, int u) const { return p + u * kMR + r; }
  void advance(int k) { p += kMR * k; }
  void prefetch_ahead() const {  // two unrolled iterations ahead
    _mm_prefetch(reinterpret_cast<const char*>(p + 8 * kMR), _MM_HINT_T0);
  }
};

template <typename T>
struct RowsA {
  static constexpr int kUnroll = 4;
  const T* a0;
  const T* a4;
  int64_t lda;
  RowsA(const T* a, int64_t ld) : a0(a), a4(a + 4 * ld), lda(ld) {}
  const T* at(int r, int u) const { return r < 4 ? a0 + r * lda + u : a4 + (r - 4) * lda + u; }
  void advance(int k) {
    a0 += k;
    a4 += k;
  }
  void prefetch_ahead() const {}  // eight sequential streams: the hardware prefetcher's job
};

// How the micro-kernel reads its kc x NR sliver of B (load(u, h): vector h of
// row k + u for the current k; advance(n): k += n).
//   PackedB: packed sliver, row k at p[k*NR] (64-byte aligned).
//   RowsB:   B in place, untransposed, row k at B[k*ldb] (any alignment).
template <class S>
struct PackedB {
  static constexpr int NR = 2 * S::W;
  const typename S::T* p;
  typename S::V load(int u, int h) const { return S::load(p + u * NR + h * S::W); }
  void advance(int k) { p += k * NR; }
};

template <class S>
struct RowsB {
  const typename S::T* p;
  int64_t ldb;
  typename S::V load(int u, int h) const { return S::loadu(p + u * ldb + h * S::W); }
  void advance(int k) { p += k * ldb; }
};

// Shapes: A sliver MR x kc (read through AS), B sliver kc x NR (through BS,
// see above), C: MR x NR with row stride ldc.  MR = 8, NR = 2 vectors (32
// float / 16 double). C = A @ B + beta * C.
//
// Register use: 16 accumulators + 2 B vectors + 1 broadcast = 19 of 32 zmm.
template <class S, template <typename> class AS, template <class> class BS>
void micro_kernel_impl(int64_t kc, AS<typename S::T> a, BS<S> b, typename S::T* C,
                       int64_t ldc, typename S::T beta) {
  using T = typename S::T;
  using V = typename S::V;
  constexpr int W = S::W;
  constexpr int NR = 2 * W;
  static_assert(kMR == BlockingAvx512<T>::MR && NR == BlockingAvx512<T>::NR,
                "tile must match the packing");
  static_assert(kMR * NR * sizeof(T) <= kMaxTileBytes, "edge-tile buffer too small");

  V c00 = S::zero(), c01 = S::zero(), c10 = S::zero(), c11 = S::zero();
  V c20 = S::zero(), c21 = S::zero(), c30 = S::zero(), c31 = S::zero();
  V c40 = S::zero(), c41 = S::zero(), c50 = S::zero(), c51 = S::zero();
  V c60 = S::zero(), c61 = S::zero(), c70 = S::zero(), c71 = S::zero();

#define PYFASTNN_UK_ROW(r)                \
  x = S::bcast(a.at(r, u));               \
  c##r##0 = S::fmadd(x, b0, c##r##0);     \
  c##r##1 = S::fmadd(x, b1, c##r##1);

#define PYFASTNN_UK_STEP(uu)                   \
  {                                            \
    constexpr int u = (uu);                    \
    const V b0 = b.load(u, 0);                 \
    const V b1 = b.load(u, 1);                 \
    V x;                                       \
    PYFASTNN_UK_ROW(0)                         \
    PYFASTNN_UK_ROW(1)                         \
    PYFASTNN_UK_ROW(2)                         \
    PYFASTNN_UK_ROW(3)                         \
    PYFASTNN_UK_ROW(4)                         \
    PYFASTNN_UK_ROW(5)                         \
    PYFASTNN_UK_ROW(6)                         \
    PYFASTNN_UK_ROW(7)                         \
  }

  constexpr int U = AS<T>::kUnroll;
  static_assert(U == 4, "unrolled by 4");
  int64_t k = 0;
  for (; k + U <= kc; k += U) {
    a.prefetch_ahead();
    PYFASTNN_UK_STEP(0)
    PYFASTNN_UK_STEP(1)
    PYFASTNN_UK_STEP(2)
    PYFASTNN_UK_STEP(3)
    a.advance(U);
    b.advance(U);
  }
  for (; k < kc; ++k) {
    PYFASTNN_UK_STEP(0)
    a.advance(1);
    b.advance(1);
  }
#undef PYFASTNN_UK_STEP
#undef PYFASTNN_UK_ROW

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
  store_beta<S>(C + 6 * ldc, c60, beta);
  store_beta<S>(C + 6 * ldc + W, c61, beta);
  store_beta<S>(C + 7 * ldc, c70, beta);
  store_beta<S>(C + 7 * ldc + W, c71, beta);
}

// Shapes: see MicroKernel in gemm_kernel.hpp.
template <class S>
void micro_kernel(int64_t kc, const typename S::T* Ap, const typename S::T* Bp,
                  typename S::T* C, int64_t ldc, typename S::T beta) {
  micro_kernel_impl<S, PackedA, PackedB>(kc, PackedA<typename S::T>(Ap, 0), PackedB<S>{Bp}, C,
                                         ldc, beta);
}

// Shapes: see MicroKernelRows in gemm_kernel.hpp.
template <class S>
void micro_kernel_rows(int64_t kc, const typename S::T* A, int64_t lda, const typename S::T* Bp,
                       typename S::T* C, int64_t ldc, typename S::T beta) {
  micro_kernel_impl<S, RowsA, PackedB>(kc, RowsA<typename S::T>(A, lda), PackedB<S>{Bp}, C, ldc,
                                       beta);
}

// Shapes: see MicroKernelRowsB in gemm_kernel.hpp.
template <class S>
void micro_kernel_rows_b(int64_t kc, const typename S::T* A, int64_t lda,
                         const typename S::T* B, int64_t ldb, typename S::T* C, int64_t ldc,
                         typename S::T beta) {
  micro_kernel_impl<S, RowsA, RowsB>(kc, RowsA<typename S::T>(A, lda), RowsB<S>{B, ldb}, C, ldc,
                                     beta);
}

// ---- packing ---------------------------------------------------------------
// Shapes: see PackKernel in gemm_kernel.hpp. Full slivers only; the caller packs
// the edge sliver. Copies go 4 source rows at a time across all slivers.

// Copy one row segment of W elements (W = 32 / 8 float, 16 / 8 double).
inline void copy32(const float* s, float* d) {
  _mm512_storeu_ps(d, _mm512_loadu_ps(s));
  _mm512_storeu_ps(d + 16, _mm512_loadu_ps(s + 16));
}
inline void copy8(const float* s, float* d) { _mm256_storeu_ps(d, _mm256_loadu_ps(s)); }
inline void copy16(const double* s, double* d) {
  _mm512_storeu_pd(d, _mm512_loadu_pd(s));
  _mm512_storeu_pd(d + 8, _mm512_loadu_pd(s + 8));
}
inline void copy8(const double* s, double* d) { _mm512_storeu_pd(d, _mm512_loadu_pd(s)); }

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

// Shapes: see PackEdgeKernel in gemm_kernel.hpp (W = NR = two vectors; loads
// under a mask: nothing past column w is read).
template <class S>
void pack_copy_edge(int64_t kc, int64_t w, const typename S::T* src, int64_t ld,
                    typename S::T* dst) {
  for (int64_t k = 0; k < kc; ++k, src += ld, dst += 2 * S::W) {
    S::storeu(dst, S::first_n(w, src));
    S::storeu(dst + S::W, S::first_n(w - S::W, src + S::W));
  }
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

// Transpose, float, one sliver of W rows (W = 8: A untransposed; W = 32: B
// transposed): 8 k per step, W / 8 blocks of 8 x 8.
template <int W>
void transpose_sliver_f32(int64_t kc, const float* src, int64_t ld, float* dst) {
  int64_t k = 0;
  for (; k + 8 <= kc; k += 8) {
    for (int h = 0; h < W / 8; ++h) {
      __m256 r[8];
      for (int i = 0; i < 8; ++i) r[i] = _mm256_loadu_ps(src + (8 * h + i) * ld + k);
      transpose8x8_f32(r);
      for (int i = 0; i < 8; ++i) _mm256_storeu_ps(dst + (k + i) * W + 8 * h, r[i]);
    }
  }
  for (; k < kc; ++k)
    for (int c = 0; c < W; ++c) dst[k * W + c] = src[c * ld + k];
}

// Transpose, double, one sliver of W rows (W = 8: A untransposed; W = 16: B
// transposed): 4 k per step, W / 4 blocks of 4 x 4.
template <int W>
void transpose_sliver_f64(int64_t kc, const double* src, int64_t ld, double* dst) {
  int64_t k = 0;
  for (; k + 4 <= kc; k += 4) {
    for (int h = 0; h < W / 4; ++h) {
      const double* s = src + 4 * h * ld + k;
      const __m256d r0 = _mm256_loadu_pd(s), r1 = _mm256_loadu_pd(s + ld);
      const __m256d r2 = _mm256_loadu_pd(s + 2 * ld), r3 = _mm256_loadu_pd(s + 3 * ld);
      const __m256d t0 = _mm256_unpacklo_pd(r0, r1), t1 = _mm256_unpackhi_pd(r0, r1);
      const __m256d t2 = _mm256_unpacklo_pd(r2, r3), t3 = _mm256_unpackhi_pd(r2, r3);
      double* d = dst + k * W + 4 * h;
      _mm256_storeu_pd(d, _mm256_permute2f128_pd(t0, t2, 0x20));
      _mm256_storeu_pd(d + W, _mm256_permute2f128_pd(t1, t3, 0x20));
      _mm256_storeu_pd(d + 2 * W, _mm256_permute2f128_pd(t0, t2, 0x31));
      _mm256_storeu_pd(d + 3 * W, _mm256_permute2f128_pd(t1, t3, 0x31));
    }
  }
  for (; k < kc; ++k)
    for (int c = 0; c < W; ++c) dst[k * W + c] = src[c * ld + k];
}

// Runs a one-sliver transpose over ns slivers side by side in the source.
template <typename T, int W, void (*One)(int64_t, const T*, int64_t, T*)>
void pack_transpose(int64_t kc, int64_t ns, const T* src, int64_t ld, T* dst) {
  for (int64_t q = 0; q < ns; ++q) One(kc, src + q * W * ld, ld, dst + q * W * kc);
}

}  // namespace

KernelSet<float> kernels_f32() {
  static_assert(BlockingAvx512<float>::MR == 8 && BlockingAvx512<float>::NR == 32,
                "pack kernel widths");
  KernelSet<float> ks = avx2::kernels_f32();  // matrix-vector kernels
  ks.micro = &micro_kernel<F32>;
  ks.micro_rows = &micro_kernel_rows<F32>;
  ks.micro_rows_b = &micro_kernel_rows_b<F32>;
  ks.pack_copy_nr_edge = &pack_copy_edge<F32>;
  ks.pack_copy_mr = &pack_copy<float, 8, copy8>;
  ks.pack_transpose_mr = &pack_transpose<float, 8, transpose_sliver_f32<8>>;
  ks.pack_copy_nr = &pack_copy<float, 32, copy32>;
  ks.pack_transpose_nr = &pack_transpose<float, 32, transpose_sliver_f32<32>>;
  ks.blocks = block_sizes<BlockingAvx512<float>>;
  return ks;
}

KernelSet<double> kernels_f64() {
  static_assert(BlockingAvx512<double>::MR == 8 && BlockingAvx512<double>::NR == 16,
                "pack kernel widths");
  KernelSet<double> ks = avx2::kernels_f64();  // matrix-vector kernels
  ks.micro = &micro_kernel<F64>;
  ks.micro_rows = &micro_kernel_rows<F64>;
  ks.micro_rows_b = &micro_kernel_rows_b<F64>;
  ks.pack_copy_nr_edge = &pack_copy_edge<F64>;
  ks.pack_copy_mr = &pack_copy<double, 8, copy8>;
  ks.pack_transpose_mr = &pack_transpose<double, 8, transpose_sliver_f64<8>>;
  ks.pack_copy_nr = &pack_copy<double, 16, copy16>;
  ks.pack_transpose_nr = &pack_transpose<double, 16, transpose_sliver_f64<16>>;
  ks.blocks = block_sizes<BlockingAvx512<double>>;
  return ks;
}

}  // namespace avx512
}  // namespace gemm_detail
}  // namespace pyfastnn

#endif  // PYFASTNN_X86
