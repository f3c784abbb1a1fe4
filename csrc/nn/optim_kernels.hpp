// The optimiser update rules on a range of n parameters (SGD, SGD with
// momentum, Adam), applied inside the backward GEMM epilogue (dense_step.cpp) to
// each finished block of dW, and to the biases.
//
//   UpdateRule: the rule and its scalars for one step t
//   apply_update(rule, p (n), g (n), s1 (n), s2 (n), n)
//     sgd:      p -= lr * g                                       (s1, s2 unused)
//     momentum: s1 = momentum * s1 + g;  p -= lr * s1             (s1: velocity)
//     adam:     s1 = b1 s1 + (1 - b1) g;  s2 = b2 s2 + (1 - b2) g^2
//               p -= lr * (s1 * c1) / (sqrt(s2 * c2) + eps)       (s1: m, s2: v;
//               c1 = 1 / (1 - b1^t), c2 = 1 / (1 - b2^t); these scalars and
//               1 - b1, 1 - b2 are computed in double and rounded, as NumPy's
//               pyfastnn/optim.py does)
#pragma once

#include <cmath>
#include <cstdint>

#include "nn/optim.hpp"
#include "runtime/cpu.hpp"

namespace pyfastnn {

template <typename T>
struct UpdateRule {
  enum class Kind { sgd, momentum, adam } kind = Kind::sgd;
  T lr = T(0), momentum = T(0), beta1 = T(0), beta2 = T(0), eps = T(0);
  T one_b1 = T(1), one_b2 = T(1), c1 = T(1), c2 = T(1);  // 1 - b1, 1 - b2 and c1, c2, from double
};

template <typename T>
UpdateRule<T> make_update_rule(const OptimizerSpec& spec, int64_t t) {
  UpdateRule<T> r;
  r.lr = static_cast<T>(spec.lr);
  if (spec.kind == OptimizerSpec::Kind::adam) {
    r.kind = UpdateRule<T>::Kind::adam;
    r.beta1 = static_cast<T>(spec.beta1);
    r.beta2 = static_cast<T>(spec.beta2);
    r.eps = static_cast<T>(spec.eps);
    r.one_b1 = static_cast<T>(1.0 - spec.beta1);
    r.one_b2 = static_cast<T>(1.0 - spec.beta2);
    r.c1 = static_cast<T>(1.0 / (1.0 - std::pow(spec.beta1, double(t))));
    r.c2 = static_cast<T>(1.0 / (1.0 - std::pow(spec.beta2, double(t))));
  } else if (spec.momentum != 0.0) {
    r.kind = UpdateRule<T>::Kind::momentum;
    r.momentum = static_cast<T>(spec.momentum);
  }
  return r;
}

// One parameter's step with its values in registers: returns the new p and
// updates the state in place.
template <typename T>
PYFASTNN_ALWAYS_INLINE T sgd_step(const UpdateRule<T>& r, T p, T g) {
  return p - r.lr * g;
}

template <typename T>
PYFASTNN_ALWAYS_INLINE T momentum_step(const UpdateRule<T>& r, T p, T g, T& velocity) {
  velocity = r.momentum * velocity + g;
  return p - r.lr * velocity;
}

template <typename T>
PYFASTNN_ALWAYS_INLINE T adam_step(const UpdateRule<T>& r, T p, T g, T& m, T& v) {
  m = r.beta1 * m + r.one_b1 * g;
  v = r.beta2 * v + r.one_b2 * g * g;
  return p - r.lr * (m * r.c1) / (std::sqrt(v * r.c2) + r.eps);
}

// The gradient of the elastic-net penalty l2 w^2 + l1 |w| at one weight.
template <typename T>
PYFASTNN_ALWAYS_INLINE T penalty_grad(T w, T l1, T l2) {
  const T sign = w > T(0) ? T(1) : (w < T(0) ? T(-1) : T(0));
  return T(2) * l2 * w + l1 * sign;
}

// Each value is loaded once into a local: without that the compiler must
// reload s1[i] after storing it (p, g, s1, s2 could alias), and on Zen 4 a
// reload of a just-stored vector that straddles a cache line waits for the
// store to retire (measured: Adam 2.6x slower per element).
template <typename T>
PYFASTNN_ALWAYS_INLINE void apply_update(const UpdateRule<T>& r, T* __restrict p,
                                         const T* __restrict g, T* __restrict s1,
                                         T* __restrict s2, int64_t n) {
  using Kind = typename UpdateRule<T>::Kind;
  if (r.kind == Kind::sgd) {
    for (int64_t i = 0; i < n; ++i) p[i] = sgd_step(r, p[i], g[i]);
  } else if (r.kind == Kind::momentum) {
    for (int64_t i = 0; i < n; ++i) {
      T velocity = s1[i];
      p[i] = momentum_step(r, p[i], g[i], velocity);
      s1[i] = velocity;
    }
  } else {
    for (int64_t i = 0; i < n; ++i) {
      T m = s1[i], v = s2[i];
      p[i] = adam_step(r, p[i], g[i], m, v);
      s1[i] = m;
      s2[i] = v;
    }
  }
}

// g (n) += the penalty gradient at the weights w (n), added to a loss
// gradient before the update rule runs.
template <typename T>
inline void add_penalty_grad_row(const T* w, T l1, T l2, T* g, int64_t n) {
  for (int64_t j = 0; j < n; ++j) g[j] += penalty_grad(w[j], l1, l2);
}

// apply_update on a block of m rows of n values (a GEMM block): p, s1, s2
// with row stride ld, the gradient g with row stride ldg. The kernel of the
// ISA chosen (nn/kernels/optim_table.hpp).
void update_block(const UpdateRule<float>& r, float* p, int64_t ld, const float* g, int64_t ldg,
                  float* s1, float* s2, int64_t m, int64_t n);
void update_block(const UpdateRule<double>& r, double* p, int64_t ld, const double* g,
                  int64_t ldg, double* s1, double* s2, int64_t m, int64_t n);

}  // namespace pyfastnn
