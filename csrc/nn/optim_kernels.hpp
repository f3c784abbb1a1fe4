// The optimiser update rules on a range of n parameters, applied inside the
// backward GEMM epilogue (dense_step.cpp) to each finished block of dW, to the
// biases, and (with gradient clipping) in one pass over all parameters.
//
//   UpdateRule: the rule and its scalars for one step t
//   apply_update(rule, p (n), g (n), s1 (n), s2 (n), n), with g <- scale * g first
//     sgd:      p -= lr * g                                       (s1, s2 unused)
//     momentum: s1 = mu s1 + g;  p -= lr * s1                     (s1: velocity)
//     nesterov: s1 = mu s1 + g;  p -= lr * (g + mu s1)            (s1: velocity)
//     adam:     s1 = b1 s1 + (1 - b1) g;  s2 = b2 s2 + (1 - b2) g^2
//               p -= lr * (s1 * c1) / (sqrt(s2 * c2) + eps)       (s1: m, s2: v;
//               c1 = 1 / (1 - b1^t), c2 = 1 / (1 - b2^t))
//     adamw:    as adam, from p * decay, decay = 1 - lr * weight_decay
//     rmsprop:  s2 = alpha s2 + (1 - alpha) g^2;  a = sqrt(s2) + eps
//               p -= lr * (g / a)                                 (s2: mean square)
//               with momentum: s1 = mu s1 + g / a;  p -= lr * s1  (s1: buffer)
// The scalars (1 - b1, c1, decay, 1 - alpha, ...) are computed in double and
// rounded, as NumPy's pyfastnn/optim.py does. `scale` is the gradient
// clipping factor min(1, c / ||g||) (1 without clipping: g * 1 is exact).
#pragma once

#include <cmath>
#include <cstdint>

#include "nn/optim.hpp"
#include "runtime/cpu.hpp"

namespace pyfastnn {

template <typename T>
struct UpdateRule {
  enum class Kind { sgd, momentum, nesterov, adam, adamw, rmsprop, rmsprop_momentum };
  Kind kind = Kind::sgd;
  T lr = T(0), momentum = T(0), beta1 = T(0), beta2 = T(0), eps = T(0);
  T one_b1 = T(1), one_b2 = T(1), c1 = T(1), c2 = T(1);  // 1 - b1, 1 - b2 and c1, c2, from double
  T decay = T(1);                                         // adamw: 1 - lr * weight_decay
  T alpha = T(0), one_alpha = T(1);                       // rmsprop: alpha, 1 - alpha
  T scale = T(1);                                         // gradient clipping factor
};

template <typename T>
UpdateRule<T> make_update_rule(const OptimizerSpec& spec, int64_t t) {
  using Kind = typename UpdateRule<T>::Kind;
  UpdateRule<T> r;
  r.lr = static_cast<T>(spec.lr);
  r.momentum = static_cast<T>(spec.momentum);
  switch (spec.kind) {
    case OptimizerSpec::Kind::adam:
    case OptimizerSpec::Kind::adamw:
      r.kind = spec.kind == OptimizerSpec::Kind::adam ? Kind::adam : Kind::adamw;
      r.beta1 = static_cast<T>(spec.beta1);
      r.beta2 = static_cast<T>(spec.beta2);
      r.eps = static_cast<T>(spec.eps);
      r.one_b1 = static_cast<T>(1.0 - spec.beta1);
      r.one_b2 = static_cast<T>(1.0 - spec.beta2);
      r.c1 = static_cast<T>(1.0 / (1.0 - std::pow(spec.beta1, double(t))));
      r.c2 = static_cast<T>(1.0 / (1.0 - std::pow(spec.beta2, double(t))));
      r.decay = static_cast<T>(1.0 - spec.lr * spec.weight_decay);
      break;
    case OptimizerSpec::Kind::rmsprop:
      r.kind = spec.momentum != 0.0 ? Kind::rmsprop_momentum : Kind::rmsprop;
      r.eps = static_cast<T>(spec.eps);
      r.alpha = static_cast<T>(spec.alpha);
      r.one_alpha = static_cast<T>(1.0 - spec.alpha);
      break;
    case OptimizerSpec::Kind::sgd:
      if (spec.momentum != 0.0) r.kind = spec.nesterov ? Kind::nesterov : Kind::momentum;
      break;
  }
  return r;
}

// Whether a rule keeps the first state s1 (velocity, m, buffer), the second s2 (v).
template <typename T>
constexpr bool uses_s1(typename UpdateRule<T>::Kind k) {
  using Kind = typename UpdateRule<T>::Kind;
  return k == Kind::momentum || k == Kind::nesterov || k == Kind::adam || k == Kind::adamw ||
         k == Kind::rmsprop_momentum;
}
template <typename T>
constexpr bool uses_s2(typename UpdateRule<T>::Kind k) {
  using Kind = typename UpdateRule<T>::Kind;
  return k == Kind::adam || k == Kind::adamw || k == Kind::rmsprop ||
         k == Kind::rmsprop_momentum;
}

// One parameter's step of rule K with its values in registers: returns the new
// p and updates the state (s1, s2: as apply_update) in place.
template <typename T, typename UpdateRule<T>::Kind K>
PYFASTNN_ALWAYS_INLINE T rule_step(const UpdateRule<T>& r, T p, T g, T& s1, T& s2) {
  using Kind = typename UpdateRule<T>::Kind;
  g = g * r.scale;
  if constexpr (K == Kind::sgd) {
    return p - r.lr * g;
  } else if constexpr (K == Kind::momentum) {
    s1 = r.momentum * s1 + g;
    return p - r.lr * s1;
  } else if constexpr (K == Kind::nesterov) {
    s1 = r.momentum * s1 + g;
    return p - r.lr * (g + r.momentum * s1);
  } else if constexpr (K == Kind::adam || K == Kind::adamw) {
    s1 = r.beta1 * s1 + r.one_b1 * g;
    s2 = r.beta2 * s2 + r.one_b2 * g * g;
    const T from = K == Kind::adamw ? p * r.decay : p;
    return from - r.lr * (s1 * r.c1) / (std::sqrt(s2 * r.c2) + r.eps);
  } else {
    s2 = r.alpha * s2 + r.one_alpha * g * g;
    const T step = g / (std::sqrt(s2) + r.eps);
    if constexpr (K == Kind::rmsprop_momentum) {
      s1 = r.momentum * s1 + step;
      return p - r.lr * s1;
    } else {
      return p - r.lr * step;
    }
  }
}

// Gradient clipping's factor min(1, clip_norm / norm), rounded to T: 1 when
// norm <= clip_norm (also when norm is 0 or NaN).
template <typename T>
inline T clip_factor(double norm, double clip_norm) {
  return norm > clip_norm ? static_cast<T>(clip_norm / norm) : T(1);
}

// The gradient of the elastic-net penalty l2 w^2 + l1 |w| at one weight
// (sign(w) from two comparisons, not branches: it vectorises; 0 at w = 0 or NaN).
template <typename T>
PYFASTNN_ALWAYS_INLINE T penalty_grad(T w, T l1, T l2) {
  const T sign = T(w > T(0)) - T(w < T(0));
  return T(2) * l2 * w + l1 * sign;
}

// Rule K on n values. Each value is loaded once into a local: without that
// the compiler must reload s1[i] after storing it (p, g, s1, s2 could alias),
// and on Zen 4 a reload of a just-stored vector that straddles a cache line
// waits for the store to retire (measured: Adam 2.6x slower per element).
template <typename T, typename UpdateRule<T>::Kind K>
PYFASTNN_ALWAYS_INLINE void apply_rule(const UpdateRule<T>& r, T* __restrict p,
                                       const T* __restrict g, T* __restrict s1,
                                       T* __restrict s2, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    T a = uses_s1<T>(K) ? s1[i] : T(0);
    T b = uses_s2<T>(K) ? s2[i] : T(0);
    p[i] = rule_step<T, K>(r, p[i], g[i], a, b);
    if (uses_s1<T>(K)) s1[i] = a;
    if (uses_s2<T>(K)) s2[i] = b;
  }
}

template <typename T>
PYFASTNN_ALWAYS_INLINE void apply_update(const UpdateRule<T>& r, T* __restrict p,
                                         const T* __restrict g, T* __restrict s1,
                                         T* __restrict s2, int64_t n) {
  using Kind = typename UpdateRule<T>::Kind;
  switch (r.kind) {
    case Kind::sgd:
      return apply_rule<T, Kind::sgd>(r, p, g, s1, s2, n);
    case Kind::momentum:
      return apply_rule<T, Kind::momentum>(r, p, g, s1, s2, n);
    case Kind::nesterov:
      return apply_rule<T, Kind::nesterov>(r, p, g, s1, s2, n);
    case Kind::adam:
      return apply_rule<T, Kind::adam>(r, p, g, s1, s2, n);
    case Kind::adamw:
      return apply_rule<T, Kind::adamw>(r, p, g, s1, s2, n);
    case Kind::rmsprop:
      return apply_rule<T, Kind::rmsprop>(r, p, g, s1, s2, n);
    case Kind::rmsprop_momentum:
      return apply_rule<T, Kind::rmsprop_momentum>(r, p, g, s1, s2, n);
  }
}

// g (m rows of n, row stride ldg) += the penalty gradient at the weights w
// (row stride ldw), added to a loss gradient before the update rule runs. The
// kernel of the ISA chosen (nn/kernels/optim_table.hpp).
void add_penalty_grad(const float* w, int64_t ldw, float l1, float l2, float* g, int64_t ldg,
                      int64_t m, int64_t n);
void add_penalty_grad(const double* w, int64_t ldw, double l1, double l2, double* g,
                      int64_t ldg, int64_t m, int64_t n);

// apply_update on a block of m rows of n values (a GEMM block): p, s1, s2
// with row stride ld, the gradient g with row stride ldg. The kernel of the
// ISA chosen (nn/kernels/optim_table.hpp).
void update_block(const UpdateRule<float>& r, float* p, int64_t ld, const float* g, int64_t ldg,
                  float* s1, float* s2, int64_t m, int64_t n);
void update_block(const UpdateRule<double>& r, double* p, int64_t ld, const double* g,
                  int64_t ldg, double* s1, double* s2, int64_t m, int64_t n);

// apply_update on all n values of p, g and the state (s1, s2 or null), on
// the threads (gradient clipping's one pass after the norm is known).
template <typename T>
void update_all(const UpdateRule<T>& r, T* p, const T* g, T* s1, T* s2, int64_t n);

// sum of x[i]^2 over n values, accumulated in double in an order that does
// not depend on the thread count or the ISA (fixed chunks, fixed lanes).
template <typename T>
double sum_of_squares(const T* x, int64_t n);
// The same sum on the calling thread (the kernel of one piece).
double sum_of_squares_serial(const float* x, int64_t n);
double sum_of_squares_serial(const double* x, int64_t n);

// l2 sum w^2 + l1 sum |w| over n weights on the calling thread, accumulated
// in double in fixed lanes (the same bits on every ISA); a sum whose
// coefficient is 0 is not computed (nn/dense.cpp cuts W into fixed chunks).
double penalty_sum_serial(const float* w, int64_t n, double l1, double l2);
double penalty_sum_serial(const double* w, int64_t n, double l1, double l2);

}  // namespace pyfastnn
