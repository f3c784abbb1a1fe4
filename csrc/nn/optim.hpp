// What an optimiser is (SGD with optional momentum or Nesterov momentum, Adam,
// AdamW, RMSprop) and the state it keeps per parameter; the update rules are in
// optim_kernels.hpp.
//
// Each rule is PyTorch's form (torch.optim.SGD, Adam, AdamW, RMSprop, without
// their coupled weight_decay, dampening or centred variants): the velocity
// accumulates raw gradients; Adam is Kingma & Ba (2015), Algorithm 1; AdamW is
// Loshchilov & Hutter (2019), with the decay p *= 1 - lr * weight_decay on
// every parameter before the Adam step. Penalties (l1, l2) are already in g.
#pragma once

#include <cstdint>

namespace pyfastnn {

// Which update and its hyper-parameters (the epoch loop's view of an optimiser).
struct OptimizerSpec {
  enum class Kind : int { sgd = 0, adam = 1, adamw = 2, rmsprop = 3 };
  Kind kind = Kind::sgd;
  double lr = 0.01;
  double momentum = 0.0;                          // sgd, rmsprop
  bool nesterov = false;                          // sgd (needs momentum > 0)
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;  // adam, adamw; eps also rmsprop
  double weight_decay = 0.0;                      // adamw
  double alpha = 0.99;                            // rmsprop
};

// The optimiser's per-parameter state, n values each: velocity (sgd with
// momentum; rmsprop's momentum buffer), m (adam, adamw) and v (adam, adamw;
// rmsprop's mean square); unused pointers may be null.
template <typename T>
struct OptimizerState {
  T* velocity = nullptr;
  T* m = nullptr;
  T* v = nullptr;
};

}  // namespace pyfastnn
