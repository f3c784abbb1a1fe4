// The activation kernel family's tables (nn/kernels/activation_table.hpp) and
// the entry points that read them (declared in nn/activations.hpp).
#include "nn/activations.hpp"
#include "nn/kernels/activation_table.hpp"
#include "runtime/kernel_registry.hpp"

namespace pyfastnn {

namespace {

using activation_detail::ActivationKernels;

const KernelTable<ActivationKernels<float>> activation_kernels_f32(
    "activation", "float32", activation_detail::portable::kernels_f32,
    PYFASTNN_X86_ONLY(activation_detail::avx2::kernels_f32),
    PYFASTNN_X86_ONLY(activation_detail::avx512::kernels_f32));
const KernelTable<ActivationKernels<double>> activation_kernels_f64(
    "activation", "float64", activation_detail::portable::kernels_f64,
    PYFASTNN_X86_ONLY(activation_detail::avx2::kernels_f64),
    PYFASTNN_X86_ONLY(activation_detail::avx512::kernels_f64));

}  // namespace

bool bias_relu_family(const float* bias, Activation act, float param, float* C, int64_t ldc,
                      float* A, int64_t lda, int64_t m, int64_t n) {
  return activation_kernels_f32->bias_relu_family(bias, act, param, C, ldc, A, lda, m, n);
}

bool bias_relu_family(const double* bias, Activation act, double param, double* C, int64_t ldc,
                      double* A, int64_t lda, int64_t m, int64_t n) {
  return activation_kernels_f64->bias_relu_family(bias, act, param, C, ldc, A, lda, m, n);
}

void scale_where_positive(const float* Z, int64_t ldz, const float* dA, int64_t lda, float* dZ,
                          int64_t ldd, int64_t m, int64_t n, float pos, float other) {
  activation_kernels_f32->scale_where_positive(Z, ldz, dA, lda, dZ, ldd, m, n, pos, other);
}

void scale_where_positive(const double* Z, int64_t ldz, const double* dA, int64_t lda,
                          double* dZ, int64_t ldd, int64_t m, int64_t n, double pos,
                          double other) {
  activation_kernels_f64->scale_where_positive(Z, ldz, dA, lda, dZ, ldd, m, n, pos, other);
}

}  // namespace pyfastnn
