// The activation kernels (activation_template.hpp) for AVX-512. No product
// here is followed by an add, so nothing is contracted into a fused
// multiply-add: the same bits as the other ISAs.
#include "nn/kernels/activation_template.hpp"

namespace pyfastnn {
namespace activation_detail {
namespace avx512 {

ActivationKernels<float> kernels_f32() { return make_kernels<float>(); }
ActivationKernels<double> kernels_f64() { return make_kernels<double>(); }

}  // namespace avx512
}  // namespace activation_detail
}  // namespace pyfastnn
