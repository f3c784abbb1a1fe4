// The entmax kernels for the avx512 ISA: the row kernels (entmax_template.hpp) and
// the lane kernels for short rows (entmax_lanes.hpp) on simd/vec_avx512.hpp.
#ifdef PYFASTNN_X86
#include "simd/vec_avx512.hpp"
#include "simplex/kernels/entmax_lanes.hpp"

namespace pyfastnn {
namespace entmax_detail {
namespace avx512 {

EntmaxKernels<float> kernels_f32() { return make_lane_kernels<simd::avx512::F32>(); }
EntmaxKernels<double> kernels_f64() { return make_lane_kernels<simd::avx512::F64>(); }

}  // namespace avx512
}  // namespace entmax_detail
}  // namespace pyfastnn
#endif  // PYFASTNN_X86
