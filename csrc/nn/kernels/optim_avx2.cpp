// The optimiser kernels (optim_template.hpp) for AVX2.
//
// Compiled as GCC's target_clones compiled their AVX2 clone before (target
// "avx2"), so that the results stay its bits: the file-name flags add -mfma,
// which would contract a * b + c into one rounding; the pragma takes it out for
// every function of the file (it comes before the includes).
#pragma GCC target("no-fma")

#include "nn/kernels/optim_template.hpp"

namespace pyfastnn {
namespace optim_detail {
namespace avx2 {

OptimizerKernels<float> kernels_f32() { return make_kernels<float>(); }
OptimizerKernels<double> kernels_f64() { return make_kernels<double>(); }

}  // namespace avx2
}  // namespace optim_detail
}  // namespace pyfastnn
