// The optimiser kernel family's tables (nn/kernels/optim_table.hpp) and the
// entry points that read them.
#include <algorithm>
#include <vector>

#include "nn/kernels/optim_table.hpp"
#include "nn/optim_kernels.hpp"
#include "nn/update_forward.hpp"
#include "runtime/kernel_registry.hpp"
#include "runtime/parallel.hpp"

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

const OptimizerKernels<float>& kernels(float) { return *optimizer_kernels_f32; }
const OptimizerKernels<double>& kernels(double) { return *optimizer_kernels_f64; }

// Values per piece of a sum of squares: the pieces, hence the order of the
// additions, are the same on any thread count.
constexpr int64_t kSquaresPiece = 1 << 14;
// Below this many values a pass over all parameters runs on one thread.
constexpr int64_t kParallelMinUpdate = 1 << 16;
constexpr int64_t kLineBytes = 64;

}  // namespace

void update_block(const UpdateRule<float>& r, float* p, int64_t ld, const float* g, int64_t ldg,
                  float* s1, float* s2, int64_t m, int64_t n) {
  optimizer_kernels_f32->update_block(r, p, ld, g, ldg, s1, s2, m, n);
}

void update_block(const UpdateRule<double>& r, double* p, int64_t ld, const double* g,
                  int64_t ldg, double* s1, double* s2, int64_t m, int64_t n) {
  optimizer_kernels_f64->update_block(r, p, ld, g, ldg, s1, s2, m, n);
}

void add_penalty_grad(const float* w, int64_t ldw, float l1, float l2, float* g, int64_t ldg,
                      int64_t m, int64_t n) {
  optimizer_kernels_f32->add_penalty_grad(w, ldw, l1, l2, g, ldg, m, n);
}

void add_penalty_grad(const double* w, int64_t ldw, double l1, double l2, double* g,
                      int64_t ldg, int64_t m, int64_t n) {
  optimizer_kernels_f64->add_penalty_grad(w, ldw, l1, l2, g, ldg, m, n);
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

double sum_of_squares_serial(const float* x, int64_t n) {
  return optimizer_kernels_f32->sum_squares(x, n);
}

double sum_of_squares_serial(const double* x, int64_t n) {
  return optimizer_kernels_f64->sum_squares(x, n);
}

double penalty_sum_serial(const float* w, int64_t n, double l1, double l2) {
  return optimizer_kernels_f32->penalty_sum(w, n, l1, l2);
}

double penalty_sum_serial(const double* w, int64_t n, double l1, double l2) {
  return optimizer_kernels_f64->penalty_sum(w, n, l1, l2);
}

template <typename T>
void update_all(const UpdateRule<T>& r, T* p, const T* g, T* s1, T* s2, int64_t n) {
  const auto& k = kernels(T());
  const int threads = n >= kParallelMinUpdate ? num_threads() : 1;
  parallel_ranges(n, kLineBytes / int64_t(sizeof(T)), threads, [&](int64_t i0, int64_t i1) {
    k.update_block(r, p + i0, 0, g + i0, 0, s1 != nullptr ? s1 + i0 : nullptr,
                   s2 != nullptr ? s2 + i0 : nullptr, 1, i1 - i0);
  });
}

template <typename T>
double sum_of_squares(const T* x, int64_t n) {
  const auto& k = kernels(T());
  const int64_t pieces = (n + kSquaresPiece - 1) / kSquaresPiece;
  if (pieces <= 1) return k.sum_squares(x, n);
  std::vector<double> part(size_t(pieces), 0.0);
  const int threads = n >= kParallelMinUpdate ? int(std::min<int64_t>(num_threads(), pieces)) : 1;
  parallel_for(pieces, threads, [&](int64_t piece) {
    const int64_t i0 = piece * kSquaresPiece;
    part[size_t(piece)] = k.sum_squares(x + i0, std::min(kSquaresPiece, n - i0));
  });
  double total = 0;
  for (double s : part) total += s;
  return total;
}

template <typename T>
double deferred_sum_squares(const DeferredStep<T>& step, const T* W, int64_t in, int64_t out) {
  const auto& k = kernels(T());
  const int64_t rows = std::max<int64_t>(1, kSquaresPiece / std::max<int64_t>(out, 1));
  const int64_t pieces = (in + rows - 1) / rows;
  std::vector<double> part(size_t(pieces), 0.0);
  const int threads =
      in * out >= kParallelMinUpdate ? int(std::min<int64_t>(num_threads(), pieces)) : 1;
  parallel_for(pieces, threads, [&](int64_t piece) {
    const int64_t i0 = piece * rows;
    part[size_t(piece)] = k.deferred_sum_squares(step, W, out, i0, std::min(in, i0 + rows));
  });
  double total = 0;
  for (double s : part) total += s;
  return total;
}

template void update_all<float>(const UpdateRule<float>&, float*, const float*, float*, float*,
                                int64_t);
template void update_all<double>(const UpdateRule<double>&, double*, const double*, double*,
                                 double*, int64_t);
template double sum_of_squares<float>(const float*, int64_t);
template double sum_of_squares<double>(const double*, int64_t);
template double deferred_sum_squares<float>(const DeferredStep<float>&, const float*, int64_t,
                                            int64_t);
template double deferred_sum_squares<double>(const DeferredStep<double>&, const double*, int64_t,
                                             int64_t);

}  // namespace pyfastnn
