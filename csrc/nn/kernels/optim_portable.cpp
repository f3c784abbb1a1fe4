// The optimiser kernels (optim_template.hpp) for baseline x86-64 (or any CPU).
#include "nn/kernels/optim_template.hpp"

namespace pyfastnn {
namespace optim_detail {
namespace portable {

OptimizerKernels<float> kernels_f32() { return make_kernels<float>(); }
OptimizerKernels<double> kernels_f64() { return make_kernels<double>(); }

}  // namespace portable
}  // namespace optim_detail
}  // namespace pyfastnn
