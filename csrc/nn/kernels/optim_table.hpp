// The optimiser kernel family: the block update (nn/optim_kernels.hpp,
// update_block), the penalty gradient added to a block (add_penalty_grad),
// the deferred step fused with the next forward product
// (nn/update_forward.hpp, update_rows_forward), the sums of squares of
// gradient clipping (sum_squares, deferred_sum_squares) and the weight
// penalty's value (penalty_sum), one table per ISA and dtype
// (runtime/kernel_registry.hpp; registered in nn/optim.cpp).
//
// Each ISA's table comes from one template source, optim_template.hpp,
// compiled by optim_portable.cpp, optim_avx2.cpp and optim_avx512.cpp (flags
// from the file name, CMakeLists.txt).
#pragma once

#include <cstdint>

#include "nn/optim_kernels.hpp"
#include "nn/update_forward.hpp"

namespace pyfastnn {
namespace optim_detail {

template <typename T>
struct OptimizerKernels {
  void (*update_block)(const UpdateRule<T>& r, T* p, int64_t ld, const T* g, int64_t ldg, T* s1,
                       T* s2, int64_t m, int64_t n) = nullptr;
  void (*add_penalty_grad)(const T* w, int64_t ldw, T l1, T l2, T* g, int64_t ldg, int64_t m,
                           int64_t n) = nullptr;
  void (*update_rows_forward)(const DeferredStep<T>& step, T* W, T* s1, T* s2, int64_t in,
                              int64_t out, const T* x, T* z, int64_t j0, int64_t j1) = nullptr;
  double (*sum_squares)(const T* x, int64_t n) = nullptr;
  double (*deferred_sum_squares)(const DeferredStep<T>& step, const T* W, int64_t out, int64_t i0,
                                 int64_t i1) = nullptr;
  double (*penalty_sum)(const T* w, int64_t n, double l1, double l2) = nullptr;
};

// Baseline x86-64 (or any CPU).
namespace portable {
OptimizerKernels<float> kernels_f32();
OptimizerKernels<double> kernels_f64();
}  // namespace portable

#ifdef PYFASTNN_X86
// AVX2 without FMA (as GCC's target_clones compiled it before: the same bits).
namespace avx2 {
OptimizerKernels<float> kernels_f32();
OptimizerKernels<double> kernels_f64();
}  // namespace avx2

// AVX-512 F only (as GCC's target_clones compiled it before: the same bits).
namespace avx512 {
OptimizerKernels<float> kernels_f32();
OptimizerKernels<double> kernels_f64();
}  // namespace avx512
#endif

}  // namespace optim_detail
}  // namespace pyfastnn
