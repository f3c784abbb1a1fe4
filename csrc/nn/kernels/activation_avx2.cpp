// The activation kernels (activation_template.hpp) for AVX2. No product here
// is followed by an add, so the file's -mfma contracts nothing.
#include "nn/kernels/activation_template.hpp"

namespace pyfastnn {
namespace activation_detail {
namespace avx2 {

ActivationKernels<float> kernels_f32() { return make_kernels<float>(); }
ActivationKernels<double> kernels_f64() { return make_kernels<double>(); }

}  // namespace avx2
}  // namespace activation_detail
}  // namespace pyfastnn
