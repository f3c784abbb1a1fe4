// The activation kernels (activation_template.hpp) for baseline x86-64 (or any CPU).
#include "nn/kernels/activation_template.hpp"

namespace pyfastnn {
namespace activation_detail {
namespace portable {

ActivationKernels<float> kernels_f32() { return make_kernels<float>(); }
ActivationKernels<double> kernels_f64() { return make_kernels<double>(); }

}  // namespace portable
}  // namespace activation_detail
}  // namespace pyfastnn
