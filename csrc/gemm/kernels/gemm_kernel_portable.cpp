// Portable C++ kernels of the GEMM (see gemm_kernel.hpp): same MR x NR tile and
// packed layouts as the AVX2 kernels, so the packing and blocking code is
// shared. Written so that the compiler can vectorise the inner loops for the
// baseline instruction set (SSE2 on x86-64, NEON on AArch64).
#include <cstdint>

#include "gemm/gemm_kernel.hpp"

namespace pyfastnn {
namespace gemm_detail {
namespace portable {
namespace {

// Shapes: A sliver MR x kc with element (r, k) at A[r*rs + k*cs], Bp packed
// kc x NR (Bp[k*NR + c]), C: MR x NR with row stride ldc.  C = A @ Bp + beta * C.
// Packed A: rs = 1, cs = MR; A read in place (untransposed): rs = lda, cs = 1.
//
// The tile is done in column strips of CW = 32 bytes (8 float / 4 double):
// MR x CW accumulators are 12 SSE registers, which the compiler keeps in
// registers (the whole MR x NR tile at once would not fit in 16 and spill).
template <typename T>
void micro_kernel_strided(int64_t kc, const T* A, int64_t rs, int64_t cs, const T* Bp, T* C,
                          int64_t ldc, T beta) {
  constexpr int MR = static_cast<int>(Blocking<T>::MR);
  constexpr int NR = static_cast<int>(Blocking<T>::NR);
  constexpr int CW = 32 / static_cast<int>(sizeof(T));
  static_assert(NR % CW == 0, "NR must be a multiple of the strip width");
  for (int c0 = 0; c0 < NR; c0 += CW) {
    T acc[MR][CW] = {};
    const T* a = A;
    const T* b = Bp + c0;
    for (int64_t k = 0; k < kc; ++k, a += cs, b += NR) {
      for (int r = 0; r < MR; ++r) {
        const T ar = a[r * rs];
        for (int c = 0; c < CW; ++c) acc[r][c] += ar * b[c];
      }
    }
    for (int r = 0; r < MR; ++r) {
      T* cr = C + r * ldc + c0;
      if (beta == T(0)) {
        for (int c = 0; c < CW; ++c) cr[c] = acc[r][c];
      } else {
        for (int c = 0; c < CW; ++c) cr[c] = acc[r][c] + beta * cr[c];
      }
    }
  }
}

// Shapes: see MicroKernel in gemm_kernel.hpp.
template <typename T>
void micro_kernel(int64_t kc, const T* Ap, const T* Bp, T* C, int64_t ldc, T beta) {
  micro_kernel_strided(kc, Ap, 1, Blocking<T>::MR, Bp, C, ldc, beta);
}

// Shapes: see MicroKernelRows in gemm_kernel.hpp.
template <typename T>
void micro_kernel_rows(int64_t kc, const T* A, int64_t lda, const T* Bp, T* C, int64_t ldc,
                       T beta) {
  micro_kernel_strided(kc, A, lda, 1, Bp, C, ldc, beta);
}

// Shapes: see PackKernel in gemm_kernel.hpp (W = MR or NR).
template <typename T, int W>
void pack_copy(int64_t kc, int64_t ns, const T* src, int64_t ld, T* dst) {
  for (int64_t k = 0; k < kc; ++k) {  // row by row across the slivers
    const T* s = src + k * ld;
    T* d = dst + k * W;
    for (int64_t q = 0; q < ns; ++q, s += W, d += W * kc)
      for (int c = 0; c < W; ++c) d[c] = s[c];
  }
}

template <typename T, int W>
void pack_transpose(int64_t kc, int64_t ns, const T* src, int64_t ld, T* dst) {
  for (int64_t q = 0; q < ns; ++q, dst += W * kc) {
    // Walk each source row once (contiguous reads), writing with stride W.
    for (int c = 0; c < W; ++c, src += ld)
      for (int64_t k = 0; k < kc; ++k) dst[k * W + c] = src[k];
  }
}

// Shapes: X n x k (row stride ldx), x[k], y[n].  y = X @ x + beta * y.
template <typename T>
void dot_rows(int64_t n, int64_t k, const T* X, int64_t ldx, const T* x, T beta, T* y) {
  constexpr int L = 8;  // independent partial sums (vectorisable, no serial chain)
  for (int64_t j = 0; j < n; ++j) {
    const T* r = X + j * ldx;
    T part[L] = {};
    int64_t p = 0;
    for (; p + L <= k; p += L)
      for (int u = 0; u < L; ++u) part[u] += r[p + u] * x[p + u];
    T s = 0;
    for (; p < k; ++p) s += r[p] * x[p];
    for (int u = 0; u < L; ++u) s += part[u];
    y[j] = beta == T(0) ? s : s + beta * y[j];
  }
}

// Shapes: X k x n (row stride ldx), x[k], y[n].  y = x @ X + beta * y.
template <typename T>
void axpy_rows(int64_t n, int64_t k, const T* X, int64_t ldx, const T* x, T beta, T* y) {
  constexpr int64_t CW = 64;  // columns per pass, accumulated in a local array
  for (int64_t j = 0; j < n; j += CW) {
    const int64_t w = n - j < CW ? n - j : CW;
    T acc[CW] = {};
    for (int64_t p = 0; p < k; ++p) {
      const T xp = x[p];
      const T* xr = X + p * ldx + j;
      for (int64_t c = 0; c < w; ++c) acc[c] += xp * xr[c];
    }
    if (beta == T(0)) {
      for (int64_t c = 0; c < w; ++c) y[j + c] = acc[c];
    } else {
      for (int64_t c = 0; c < w; ++c) y[j + c] = acc[c] + beta * y[j + c];
    }
  }
}

// Shapes: x[n], y[n].  y = alpha * x + beta * y.
template <typename T>
void axpby(int64_t n, T alpha, const T* x, T beta, T* y) {
  if (beta == T(0)) {
    for (int64_t j = 0; j < n; ++j) y[j] = alpha * x[j];
  } else {
    for (int64_t j = 0; j < n; ++j) y[j] = alpha * x[j] + beta * y[j];
  }
}

}  // namespace

template <typename T>
KernelSet<T> make_kernels() {
  constexpr int MR = static_cast<int>(Blocking<T>::MR);
  constexpr int NR = static_cast<int>(Blocking<T>::NR);
  return {&micro_kernel<T>,      &micro_kernel_rows<T>, &pack_copy<T, MR>, &pack_transpose<T, MR>,
          &pack_copy<T, NR>,     &pack_transpose<T, NR>, &dot_rows<T>,
          &axpy_rows<T>,         &axpby<T>,             block_sizes<Blocking<T>>};
}

KernelSet<float> kernels_f32() { return make_kernels<float>(); }

KernelSet<double> kernels_f64() { return make_kernels<double>(); }

}  // namespace portable
}  // namespace gemm_detail
}  // namespace pyfastnn
