// The activation kernel family: the relu family's elementwise work inside the
// dense layers' GEMM epilogues (nn/dense_epilogues.hpp), one table per ISA and
// dtype (runtime/kernel_registry.hpp; registered in nn/activation_kernels.cpp).
//
//   bias_relu_family(bias (n), act, param, C (m, ldc), ldc, A (m, lda), lda, m, n):
//     C += bias on each row; A = f(C) for act in {identity, relu, scaled_relu,
//     leaky_relu} (A null: the bias only; A, C and bias do not overlap);
//     returns whether any C is NaN or infinite
//   scale_where_positive(Z (m, ldz), ldz, dA (m, lda), lda, dZ (m, ldd), ldd, m, n,
//                        pos, other):
//     dZ = dA * (Z > 0 ? pos : other) (the relu family's derivative; dZ == dA allowed)
//
// Each ISA's table comes from one template source, activation_template.hpp,
// compiled by activation_portable.cpp, activation_avx2.cpp and
// activation_avx512.cpp (flags from the file name, CMakeLists.txt). Every
// value is one rounded operation (an add, a product or a select), so all
// ISAs give the same bits.
#pragma once

#include <cstdint>

#include "nn/activations.hpp"

namespace pyfastnn {
namespace activation_detail {

template <typename T>
struct ActivationKernels {
  bool (*bias_relu_family)(const T* bias, Activation act, T param, T* C, int64_t ldc, T* A,
                           int64_t lda, int64_t m, int64_t n) = nullptr;
  void (*scale_where_positive)(const T* Z, int64_t ldz, const T* dA, int64_t lda, T* dZ,
                               int64_t ldd, int64_t m, int64_t n, T pos, T other) = nullptr;
};

// Baseline x86-64 (or any CPU).
namespace portable {
ActivationKernels<float> kernels_f32();
ActivationKernels<double> kernels_f64();
}  // namespace portable

#ifdef PYFASTNN_X86
namespace avx2 {
ActivationKernels<float> kernels_f32();
ActivationKernels<double> kernels_f64();
}  // namespace avx2

namespace avx512 {
ActivationKernels<float> kernels_f32();
ActivationKernels<double> kernels_f64();
}  // namespace avx512
#endif

}  // namespace activation_detail
}  // namespace pyfastnn
