// Output maps and their losses, on a batch of logits.
//
//   output_forward:   out (n, K) = g(Z (n, K)) row by row
//   output_loss_grad: returns sum over rows of the per-sample loss;
//                     if dZ != nullptr writes dZ (n, K) = scale * d loss_i / d Z_i
//
//   softmax  + cross-entropy   loss_i = logsumexp(z) - z_y          dz = p - t
//   sigmoid  + binary CE       loss_i = mean_k softplus(z) - t z    dz = (sigmoid(z) - t) / K
//   identity + squared error   loss_i = sum_k (z - t)^2             dz = 2 (z - t)
//
// t is the one-hot encoding of an integer label, or a row of real targets.
#pragma once

#include <cstdint>

namespace pyfastnn {

// Codes shared with pyfastnn/_spec.py.
enum class Output : int { softmax = 0, sigmoid = 1, identity = 2 };
constexpr int kNumOutputs = 3;

// Exactly one of `labels` ((n,), each in [0, K)) and `values` ((n, K)) is set.
template <typename T>
struct TargetView {
  const int64_t* labels = nullptr;
  const T* values = nullptr;
};

template <typename T>
void output_forward(Output output, const T* Z, int64_t n, int64_t K, T* out);

template <typename T>
double output_loss_grad(Output output, const T* Z, int64_t n, int64_t K, TargetView<T> target,
                        T* dZ, T scale);

}  // namespace pyfastnn
