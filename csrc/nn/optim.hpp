// What an optimiser is (SGD with optional momentum, or Adam) and the state
// it keeps per parameter; the update rules are in optim_kernels.hpp.
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
