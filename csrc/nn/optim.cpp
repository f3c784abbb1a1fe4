// The optimiser kernel family's tables (nn/kernels/optim_table.hpp) and the
// entry points that read them.
#include "nn/kernels/optim_table.hpp"
#include "nn/optim_kernels.hpp"
#include "nn/update_forward.hpp"
#include "runtime/kernel_registry.hpp"

namespace pyfastnn {

namespace {

using optim_detail::OptimizerKernels;

const KernelTable<OptimizerKernels<float>> optimizer_kernels_f32(
    "optimizer", "float32", optim_detail::portable::kernels_f32,
    PYFASTNN_X86_ONLY(optim_detail::avx2::kernels_f32),
    PYFASTNN_X86_ONLY(optim_detail::avx512::kernels_f32));
const KernelTable<OptimizerKernels<double>> optimizer_kernels_f64(
    "optimizer", "float64", optim_detail::portable::kernels_f64,
    PYFASTNN_X86_ONLY(optim_detail::avx2::kernels_f64),
    PYFASTNN_X86_ONLY(optim_detail::avx512::kernels_f64));

}  // namespace

void update_block(const UpdateRule<float>& r, float* p, int64_t ld, const float* g, int64_t ldg,
                  float* s1, float* s2, int64_t m, int64_t n) {
  optimizer_kernels_f32->update_block(r, p, ld, g, ldg, s1, s2, m, n);
}

void update_block(const UpdateRule<double>& r, double* p, int64_t ld, const double* g,
                  int64_t ldg, double* s1, double* s2, int64_t m, int64_t n) {
  optimizer_kernels_f64->update_block(r, p, ld, g, ldg, s1, s2, m, n);
}

void update_rows_forward(const DeferredStep<float>& step, float* W, float* s1, float* s2,
                         int64_t in, int64_t out, const float* x, float* z, int64_t j0,
                         int64_t j1) {
  optimizer_kernels_f32->update_rows_forward(step, W, s1, s2, in, out, x, z, j0, j1);
}

void update_rows_forward(const DeferredStep<double>& step, double* W, double* s1, double* s2,
                         int64_t in, int64_t out, const double* x, double* z, int64_t j0,
                         int64_t j1) {
  optimizer_kernels_f64->update_rows_forward(step, W, s1, s2, in, out, x, z, j0, j1);
}

}  // namespace pyfastnn
