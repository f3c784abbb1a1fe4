// Dense (fully connected) layer: forward/backward pair.
//
//   dense_forward:   Z (n, out) = X (n, in) @ W (in, out) + b (out)
//                    A (n, out) = f(Z)                  (when A is given)
//                    returns whether every element of Z is finite
//   dense_backward:  given dZ (n, out) = d loss / d Z
//                    dW (in, out) = X^T @ dZ + 2 l2 W + l1 sign(W)
//                    db (out)     = sum over rows of dZ
//                    dX (n, in)   = dZ @ W^T            (when dX is given)
//   dense_backward_input: dX (n, in) = dZ @ W^T alone
//   dense_backward_to_below: when X = mask * g(Z_below) is the output of the
//                    layer below (activation g, dropout mask or none),
//                    dZ_below (n, in) = (dZ @ W^T) * mask * g'(Z_below)
//
// Bias add and activation are fused into the GEMM epilogue (applied to each
// block of Z while it is in cache); so are the penalty gradient and the
// activation derivative in the backward products. The optimiser step fused
// into the weight gradient is in dense_step.hpp.
#pragma once

#include <cstdint>

#include "nn/activations.hpp"

namespace pyfastnn {

// A dense layer's parameters (read only) and the activation of its output.
template <typename T>
struct DenseLayer {
  int64_t in = 0, out = 0;
  const T* W = nullptr;  // (in, out), row-major
  const T* b = nullptr;  // (out)
  Activation activation = Activation::identity;
  T activation_param = T(0);
};

// The elastic-net penalty l2 sum W^2 + l1 sum |W| of a layer's weights.
template <typename T>
struct Penalty {
  T l1 = T(0), l2 = T(0);
  bool any() const { return l1 != T(0) || l2 != T(0); }
};

// Where dense_backward writes: dW (in, out), db (out), dX (n, in) or nullptr.
template <typename T>
struct DenseGrad {
  T* dW = nullptr;
  T* db = nullptr;
  T* dX = nullptr;
};

// The layer below, whose output X = mask * g(Z) is this layer's input:
// Z (n, in) its pre-activations (or X itself where derivative_from_activations
// allows), its activation g and the dropout mask (n, in), or nullptr: none.
template <typename T>
struct LayerBelow {
  const T* Z = nullptr;
  const T* mask = nullptr;
  Activation activation = Activation::identity;
  T activation_param = T(0);
};

// Returns false when some element of Z is NaN or infinite.
template <typename T>
bool dense_forward(const DenseLayer<T>& layer, int64_t n, const T* X, T* Z, T* A);

template <typename T>
void dense_backward(const DenseLayer<T>& layer, int64_t n, const T* X, const T* dZ,
                    Penalty<T> penalty, const DenseGrad<T>& grad);

template <typename T>
void dense_backward_input(const DenseLayer<T>& layer, int64_t n, const T* dZ, T* dX);

template <typename T>
void dense_backward_to_below(const DenseLayer<T>& layer, int64_t n, const T* dZ,
                             const LayerBelow<T>& below, T* dZ_below);

// db (out) = column sums of dZ (n, out), in the same order on any thread count.
template <typename T>
void column_sums(const T* dZ, int64_t n, int64_t out, T* db);

// The penalty of `count` weights, accumulated in double.
template <typename T>
double weight_penalty(const T* W, int64_t count, Penalty<T> penalty);

}  // namespace pyfastnn
