// The optimiser kernels (optim_template.hpp) for AVX-512.
//
// Compiled as GCC's target_clones compiled their AVX-512 clone before (target
// "avx512f"), so that the results stay its bits: with the file-name flags'
// VL/BW/DQ and -mfma the compiler contracts a * b + c differently in the
// 256-bit and scalar tails (measured: float32 training steps differ in the last
// bits). The pragma takes them out for every function of the file (it comes
// before the includes).
#pragma GCC target("no-avx512vl,no-avx512bw,no-avx512dq,no-fma")

#include "nn/kernels/optim_template.hpp"

namespace pyfastnn {
namespace optim_detail {
namespace avx512 {

OptimizerKernels<float> kernels_f32() { return make_kernels<float>(); }
OptimizerKernels<double> kernels_f64() { return make_kernels<double>(); }

}  // namespace avx512
}  // namespace optim_detail
}  // namespace pyfastnn
