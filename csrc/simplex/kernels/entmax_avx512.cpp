// The entmax row kernels (entmax_template.hpp) for the avx512 ISA.
#ifdef PYFASTNN_X86
#include "simplex/kernels/entmax_template.hpp"

namespace pyfastnn {
namespace entmax_detail {
namespace avx512 {

EntmaxKernels<float> kernels_f32() { return make_kernels<float>(); }
EntmaxKernels<double> kernels_f64() { return make_kernels<double>(); }

}  // namespace avx512
}  // namespace entmax_detail
}  // namespace pyfastnn
#endif  // PYFASTNN_X86
