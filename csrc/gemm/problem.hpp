// What every GEMM strategy shares: the problem of one call (Problem: op(A)
// M x K, op(B) K x N, beta, C M x N with its epilogue and the kernel set of
// the active ISA), the kernel tables it is read from, integer block helpers
// (parallel_ranges, the split of [0, n) into jobs, is in runtime/parallel.hpp).
// Private to gemm.cpp: included only into its translation unit (internal
// linkage, so code generation is that of one file).
#pragma once


#include <atomic>
#include <cstdint>
#include <new>

#include "gemm/gemm.hpp"
#include "gemm/gemm_kernel.hpp"
#include "runtime/kernel_registry.hpp"
#include "runtime/parallel.hpp"

namespace pyfastnn {
namespace {

using gemm_detail::BlockSizes;
using gemm_detail::KernelSet;

// ---- small helpers -----------------------------------------------------------

constexpr int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
constexpr int64_t round_up(int64_t a, int64_t b) { return ceil_div(a, b) * b; }

// Size of each of the ceil(n / block) equal blocks n splits into.
int64_t even_block(int64_t n, int64_t block) { return ceil_div(n, ceil_div(n, block)); }

// The kernel family's tables (runtime/kernel_registry.hpp): each ISA's
// kernels_f32() / kernels_f64() (gemm_kernel.hpp) fill them once.
const KernelTable<KernelSet<float>> gemm_kernels_f32(
    "gemm", "float32", gemm_detail::portable::kernels_f32,
    PYFASTNN_X86_ONLY(gemm_detail::avx2::kernels_f32),
    PYFASTNN_X86_ONLY(gemm_detail::avx512::kernels_f32));
const KernelTable<KernelSet<double>> gemm_kernels_f64(
    "gemm", "float64", gemm_detail::portable::kernels_f64,
    PYFASTNN_X86_ONLY(gemm_detail::avx2::kernels_f64),
    PYFASTNN_X86_ONLY(gemm_detail::avx512::kernels_f64));

template <typename T>
const KernelSet<T>& active_kernels();
template <>
const KernelSet<float>& active_kernels<float>() {
  return *gemm_kernels_f32;
}
template <>
const KernelSet<double>& active_kernels<double>() {
  return *gemm_kernels_f64;
}

// ---- the problem -------------------------------------------------------------

template <typename T>
struct Problem {
  bool ta, tb;
  int64_t M, N, K;
  const T* A;
  int64_t lda;
  const T* B;
  int64_t ldb;
  T beta;
  T* C;
  int64_t ldc;
  const GemmEpilogue<T>* epi;  // nullptr when there is nothing to apply
  KernelSet<T> ks;
  bool consume = false;  // gemm_consume: whole blocks to epi, C only as scratch

  // The epilogue on rows [i0, i0 + m), columns [j0, j0 + n) of C, held at c
  // (row stride ldc_c): in C itself (finish) or in a scratch block.
  void finish_at(T* c, int64_t ldc_c, int64_t i0, int64_t j0, int64_t m, int64_t n) const {
    if (epi != nullptr && m > 0 && n > 0) epi->apply(epi->ctx, c, ldc_c, i0, j0, m, n);
  }
  void finish(int64_t i0, int64_t j0, int64_t m, int64_t n) const {
    finish_at(C + i0 * ldc + j0, ldc, i0, j0, m, n);
  }
  bool finish_blocks() const { return epi != nullptr && consume; }
  bool may_discard_c() const { return finish_blocks() && beta == T(0); }
};

}  // namespace
}  // namespace pyfastnn
