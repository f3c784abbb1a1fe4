// Portable C++ kernels of the GEMM (see gemm_kernel.hpp): same MR x NR tile and
// packed layouts as the AVX2 kernels, so the packing and blocking code is
// shared. Written so that the compiler can vectorise the inner loops for the
// baseline instruction set (SSE2 on x86-64, NEON on AArch64).
#include <cstdint>

#include "gemm_kernel.hpp"

namespace pyfastnn {
namespace gemm_detail {
namespace portable {
namespace {

// Shapes: Ap packed MR x kc (Ap[k*MR + r]), Bp packed kc x NR (Bp[k*NR + c]),
// C: MR x NR with row stride ldc.  C = Ap @ Bp + beta * C.
template <typename T>
void micro_kernel(int64_t kc, const T* __restrict Ap, const T* __restrict Bp, T* __restrict C,
                  int64_t ldc, T beta) {
  constexpr int MR = static_cast<int>(Blocking<T>::MR);
  constexpr int NR = static_cast<int>(Blocking<T>::NR);
  T acc[MR][NR] = {};
  for (int64_t k = 0; k < kc; ++k) {
    const T* b = Bp + k * NR;
    const T* a = Ap + k * MR;
    for (int r = 0; r < MR; ++r) {
      const T ar = a[r];
      for (int c = 0; c < NR; ++c) acc[r][c] += ar * b[c];
    }
  }
  for (int r = 0; r < MR; ++r) {
    T* cr = C + r * ldc;
    if (beta == T(0)) {
      for (int c = 0; c < NR; ++c) cr[c] = acc[r][c];
    } else {
      for (int c = 0; c < NR; ++c) cr[c] = acc[r][c] + beta * cr[c];
    }
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

KernelSet<float> kernels_f32() {
  return {&micro_kernel<float>, &dot_rows<float>, &axpy_rows<float>, &axpby<float>};
}

KernelSet<double> kernels_f64() {
  return {&micro_kernel<double>, &dot_rows<double>, &axpy_rows<double>, &axpby<double>};
}

}  // namespace portable
}  // namespace gemm_detail
}  // namespace pyfastnn
