#include "nn/deferred_update.hpp"

#include <algorithm>
#include <atomic>

#include "nn/dense_epilogues.hpp"
#include "nn/update_forward.hpp"
#include "runtime/parallel.hpp"

namespace pyfastnn {

namespace {
// Below this many weights a deferred step (and its forward product) runs on
// one thread: it streams W once, like an outer product (kParallelMinOuterElems
// in gemm/gemv.hpp).
constexpr int64_t kParallelMinStepElements = 1 << 16;
}  // namespace

template <typename T>
void DeferredUpdate<T>::defer(int64_t l, const UpdateRule<T>& rule, Penalty<T> penalty,
                              const T* h, int64_t in, const T* dz, int64_t out) {
  Layer& L = layers_[size_t(l)];
  L.h.assign(h, h + in);
  L.dz.assign(dz, dz + out);
  L.pending = true;
  rule_ = rule;
  penalty_ = penalty;
}

template <typename T>
bool DeferredUpdate<T>::take(int64_t l, const DenseParams<T>& p, Activation act, T act_param,
                             const T* x, T* Z, T* A) {
  Layer& L = layers_[size_t(l)];
  const DeferredStep<T> pending{rule_, penalty_.l1, penalty_.l2, L.h.data(), L.dz.data()};
  std::atomic<bool> nonfinite{false};
  const BiasActivation<T> ctx{p.b, act, act_param, A, p.out, &nonfinite};
  constexpr int64_t kLine = 64 / sizeof(T);
  const int64_t pieces = (p.out + kLine - 1) / kLine;
  const int threads =
      p.in * p.out >= kParallelMinStepElements ? int(std::min<int64_t>(num_threads(), pieces)) : 1;
  parallel_ranges(p.out, kLine, threads, [&](int64_t j0, int64_t j1) {
    update_rows_forward(pending, p.W, p.W_s1, p.W_s2, p.in, p.out, x, Z, j0, j1);
    if (x != nullptr) BiasActivation<T>::apply(&ctx, Z + j0, p.out, 0, j0, 1, j1 - j0);
  });
  L.pending = false;
  return !nonfinite.load();
}

template <typename T>
double DeferredUpdate<T>::grad_sum_squares(int64_t l, const T* W, int64_t in,
                                           int64_t out) const {
  const Layer& L = layers_[size_t(l)];
  if (penalty_.any()) {
    const DeferredStep<T> pending{rule_, penalty_.l1, penalty_.l2, L.h.data(), L.dz.data()};
    return deferred_sum_squares(pending, W, in, out);
  }
  return sum_of_squares(L.h.data(), in) * sum_of_squares(L.dz.data(), out);
}

template <typename T>
bool DeferredUpdate<T>::step_and_forward(int64_t l, const DenseParams<T>& p, Activation act,
                                         T act_param, const T* x, T* Z, T* A) {
  return take(l, p, act, act_param, x, Z, A);
}

template <typename T>
void DeferredUpdate<T>::step(int64_t l, const DenseParams<T>& p) {
  take(l, p, Activation::identity, T(0), nullptr, nullptr, nullptr);
}

template class DeferredUpdate<float>;
template class DeferredUpdate<double>;

}  // namespace pyfastnn
