#include "nn/dense.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>

#include "gemm/gemm.hpp"
#include "nn/dense_epilogues.hpp"
#include "nn/optim_kernels.hpp"
#include "runtime/ordered_sum.hpp"
#include "runtime/parallel.hpp"

namespace pyfastnn {

namespace {

// Below this many elements a reduction runs on one thread.
constexpr int64_t kParallelMinElements = 1 << 15;
// Weights per partial sum of the penalty (ordered_sum.hpp).
constexpr int64_t kPenaltyChunk = 1 << 14;

}  // namespace

template <typename T>
bool dense_forward(const DenseLayer<T>& layer, int64_t n, const T* X, T* Z, T* A) {
  std::atomic<bool> nonfinite{false};
  const BiasActivation<T> ctx{layer.b, layer.activation, layer.activation_param, A, layer.out,
                              &nonfinite};
  const GemmEpilogue<T> epilogue{&BiasActivation<T>::apply, &ctx};
  gemm<T>(false, false, n, layer.out, layer.in, X, layer.in, layer.W, layer.out, T(0), Z,
          layer.out, &epilogue);
  return !nonfinite.load();
}

template <typename T>
void dense_backward(const DenseLayer<T>& layer, int64_t n, const T* X, const T* dZ,
                    Penalty<T> penalty, const DenseGrad<T>& grad) {
  const PenaltyGrad<T> ctx{layer.W, layer.out, penalty};
  const GemmEpilogue<T> epilogue{&PenaltyGrad<T>::apply, &ctx};
  gemm<T>(true, false, layer.in, layer.out, n, X, layer.in, dZ, layer.out, T(0), grad.dW,
          layer.out, penalty.any() ? &epilogue : nullptr);
  column_sums(dZ, n, layer.out, grad.db);
  if (grad.dX != nullptr) dense_backward_input(layer, n, dZ, grad.dX);
}

template <typename T>
void dense_backward_input(const DenseLayer<T>& layer, int64_t n, const T* dZ, T* dX) {
  gemm<T>(false, true, n, layer.in, layer.out, dZ, layer.out, layer.W, layer.out, T(0), dX,
          layer.in);
}

template <typename T>
void dense_backward_to_below(const DenseLayer<T>& layer, int64_t n, const T* dZ,
                             const LayerBelow<T>& below, T* dZ_below) {
  const ActivationGrad<T> ctx{below.Z, below.mask, layer.in, below.activation,
                              below.activation_param};
  const GemmEpilogue<T> epilogue{&ActivationGrad<T>::apply, &ctx};
  gemm<T>(false, true, n, layer.in, layer.out, dZ, layer.out, layer.W, layer.out, T(0), dZ_below,
          layer.in, &epilogue);
}

// Column blocks go to threads; each thread walks the rows of its block, so
// reads stay sequential.
template <typename T>
void column_sums(const T* dZ, int64_t n, int64_t out, T* db) {
  constexpr int64_t kColumnBlock = 64;
  const int64_t blocks = (out + kColumnBlock - 1) / kColumnBlock;
  const int threads = n * out >= kParallelMinElements && blocks > 1 ? num_threads() : 1;
  const auto block_sums = [&](int64_t blk) {
    const int64_t j0 = blk * kColumnBlock;
    const int64_t j1 = std::min(out, j0 + kColumnBlock);
    for (int64_t j = j0; j < j1; ++j) db[j] = T(0);
    for (int64_t i = 0; i < n; ++i) {
      const T* row = dZ + i * out;
      for (int64_t j = j0; j < j1; ++j) db[j] += row[j];
    }
  };
  parallel_for(blocks, threads, block_sums);
}

template <typename T>
double weight_penalty(const T* W, int64_t count, Penalty<T> penalty) {
  if (!penalty.any()) return 0.0;
  const double l1 = double(penalty.l1), l2 = double(penalty.l2);
  const int threads = count >= kParallelMinElements ? num_threads() : 1;
  return ordered_chunk_sum(count, kPenaltyChunk, threads, [&](int64_t i0, int64_t i1) {
    return penalty_sum_serial(W + i0, i1 - i0, l1, l2);
  });
}

#define PYFASTNN_INSTANTIATE_DENSE(T)                                                       \
  template bool dense_forward<T>(const DenseLayer<T>&, int64_t, const T*, T*, T*);          \
  template void dense_backward<T>(const DenseLayer<T>&, int64_t, const T*, const T*,        \
                                  Penalty<T>, const DenseGrad<T>&);                         \
  template void dense_backward_input<T>(const DenseLayer<T>&, int64_t, const T*, T*);       \
  template void dense_backward_to_below<T>(const DenseLayer<T>&, int64_t, const T*,         \
                                           const LayerBelow<T>&, T*);                       \
  template void column_sums<T>(const T*, int64_t, int64_t, T*);                             \
  template double weight_penalty<T>(const T*, int64_t, Penalty<T>);
PYFASTNN_INSTANTIATE_DENSE(float)
PYFASTNN_INSTANTIATE_DENSE(double)
#undef PYFASTNN_INSTANTIATE_DENSE

}  // namespace pyfastnn
