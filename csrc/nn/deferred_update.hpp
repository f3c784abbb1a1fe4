// The weight steps of a one-row minibatch, deferred to the next forward
// product (the training step, train_step.cpp, with batches of one row).
//
// With one row, layer l's weight gradient is the outer product
// g = h dz^T + 2 l2 W + l1 sign(W) (h (in): its input, dz (out): d loss / d z).
// Instead of writing g and then stepping W (two passes over W), the training
// step records h and dz (defer) and takes the step in the next pass over W:
// the next forward product z' = x' @ W reads W anyway, so step and product go
// together, each weight stepped and used in registers (update_forward.hpp).
//
//   defer(l, rule, penalty, h, dz)   a step is pending for layer l
//   step_and_forward(l, p, ..., x, Z, A)
//                                    W, its state <- the pending step, then
//                                    Z (1, out) = x @ W + b, A = f(Z) (if A)
//   step(l, p)                       the pending step alone
//   grad_sum_squares(l, W, in, out)  ||g||^2 of layer l's pending step
//   set_scale(s)                     the pending steps take the gradient s * g
//                                    (gradient clipping: s is known only
//                                    after the whole backward pass)
//
// Biases are not deferred (the training step steps them in its backward
// pass). The pending steps of one training step share its rule and penalty.
// Columns go to threads when W is large; the result does not depend on the
// thread count.
#pragma once

#include <cstdint>
#include <vector>

#include "nn/activations.hpp"
#include "nn/dense.hpp"
#include "nn/dense_step.hpp"
#include "nn/optim_kernels.hpp"
#include "runtime/aligned_vector.hpp"

namespace pyfastnn {

template <typename T>
class DeferredUpdate {
 public:
  explicit DeferredUpdate(int64_t layers) : layers_(size_t(layers)) {}

  bool pending(int64_t l) const { return layers_[size_t(l)].pending; }

  // Records layer l's weight step: h (in), dz (out) are copied.
  void defer(int64_t l, const UpdateRule<T>& rule, Penalty<T> penalty, const T* h, int64_t in,
             const T* dz, int64_t out);

  // Takes layer l's pending step on p.W (and its state), fused with the
  // forward product of the row x (in): as dense_forward on one row (bias p.b,
  // activation act). Returns false when some element of Z is not finite.
  bool step_and_forward(int64_t l, const DenseParams<T>& p, Activation act, T act_param,
                        const T* x, T* Z, T* A);

  // Takes layer l's pending step on p.W (and its state), without a product.
  void step(int64_t l, const DenseParams<T>& p);

  // The squared norm (in double) of layer l's pending gradient h dz^T +
  // penalty gradient at W (in, out): ||h||^2 ||dz||^2 without a penalty (no
  // pass over W), else one pass over W.
  double grad_sum_squares(int64_t l, const T* W, int64_t in, int64_t out) const;

  // The pending steps take the gradient scale * g (set after defer).
  void set_scale(T scale) { rule_.scale = scale; }

 private:
  struct Layer {
    bool pending = false;
    AlignedVector<T> h, dz;
  };
  // The pending step of layer l on columns [j0, j1) of p.W, then (x != null)
  // z[j0, j1) = x @ W[:, j0:j1) + b and its activation; on the threads a
  // matrix of p.in x p.out weights takes.
  bool take(int64_t l, const DenseParams<T>& p, Activation act, T act_param, const T* x, T* Z,
            T* A);

  std::vector<Layer> layers_;
  UpdateRule<T> rule_;
  Penalty<T> penalty_;
};

}  // namespace pyfastnn
