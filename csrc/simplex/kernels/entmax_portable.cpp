// The entmax row kernels (entmax_template.hpp) for the portable ISA.
#include "simplex/kernels/entmax_template.hpp"

namespace pyfastnn {
namespace entmax_detail {
namespace portable {

EntmaxKernels<float> kernels_f32() { return make_kernels<float>(); }
EntmaxKernels<double> kernels_f64() { return make_kernels<double>(); }

}  // namespace portable
}  // namespace entmax_detail
}  // namespace pyfastnn
