// Parameter updates on flat vectors of n values (one call per step).
//
//   sgd_step:  v = momentum * v + g;  p -= lr * v         (v unused when momentum == 0)
//   adam_step: m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
//              p -= lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)    t >= 1
//
// The momentum form is PyTorch's (velocity accumulates raw gradients); Adam is
// Kingma & Ba (2015), Algorithm 1. Penalties (l1, l2) are already in g.
#pragma once

#include <cstdint>

namespace pyfastnn {

// Which update and its hyper-parameters (the epoch loop's view of an optimiser).
struct OptimizerSpec {
  enum class Kind : int { sgd = 0, adam = 1 };
  Kind kind = Kind::sgd;
  double lr = 0.01;
  double momentum = 0.0;                          // sgd
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;  // adam
};

// The optimiser's per-parameter state, n values each: velocity (sgd with
// momentum), m and v (adam); unused pointers may be null.
template <typename T>
struct OptimizerState {
  T* velocity = nullptr;
  T* m = nullptr;
  T* v = nullptr;
};

}  // namespace pyfastnn
