// The optimiser kernels (optim_template.hpp) for AVX-512.
//
// AVX-512 F only, with a * b + c never contracted into a fused multiply-add,
// so that every ISA's kernels round alike (the portable and AVX2 files have
// no FMA): the same bits on every ISA. The file-name flags add VL/BW/DQ and
// -mfma; the target pragma takes them out, but AVX-512 F has its own FMA
// instructions (zmm and scalar), which GCC contracts into without -mfma
// (measured, GCC 12 objdump of this file: 2768 vfmadd/vfnmadd with the
// target pragma alone, 0 with the optimize pragma too). The optimize
// pragma turns contraction off. Both come before the includes, so they hold
// for every function of the file.
#pragma GCC target("no-avx512vl,no-avx512bw,no-avx512dq,no-fma")
#pragma GCC optimize("fp-contract=off")

#include "nn/kernels/optim_template.hpp"

namespace pyfastnn {
namespace optim_detail {
namespace avx512 {

OptimizerKernels<float> kernels_f32() { return make_kernels<float>(); }
OptimizerKernels<double> kernels_f64() { return make_kernels<double>(); }

}  // namespace avx512
}  // namespace optim_detail
}  // namespace pyfastnn
