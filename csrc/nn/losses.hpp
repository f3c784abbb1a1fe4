// Output maps and their losses, on a batch of logits.
//
//   output_forward:   out (n, K) = g(Z (n, K)) row by row
//   output_loss_grad: returns sum over rows of the per-sample loss;
//                     if dZ != nullptr writes dZ (n, K) = scale * d loss_i / d Z_i
//
//   softmax  + cross-entropy   loss_i = logsumexp(z) - z_y          dz = p - t
//   sigmoid  + binary CE       loss_i = mean_k softplus(z) - t z    dz = (sigmoid(z) - t) / K
//   identity + squared error   loss_i = sum_k (z - t)^2             dz = 2 (z - t)
//   sparsemax / relumax_b (integer labels; kernels in simplex.hpp) with
//     the sparsemax loss       (Martins & Astudillo 2016)           dz = sparsemax(z) - e_y
//     eps cross-entropy        loss_i = -log((p_y + eps) / (1 + K eps))   dz = J^T g
//   identity + perceptron      loss_i = z_p - z_y, p = first argmax of z  dz = e_p - e_y
//     (integer labels; a mistake, p != y, gives the classic update even at
//      a tie, where loss_i = 0; a correct row gives dz = 0)
//   entmax15 / alpha-entmax (integer labels; kernels in simplex.hpp) with their
//     Fenchel-Young loss        loss_i = <p, z> + (1 - sum p^alpha) / (alpha (alpha - 1)) - z_y
//                                                                   dz = entmax(z) - e_y
//
// t is the one-hot encoding of an integer label, or a row of real targets.
//
// Sample weights (TargetView::weights, w_i >= 0): the loss of the batch is the
// weighted mean sum_i w_i loss_i / sum_i w_i. output_loss_grad computes it as
// the plain mean of loss_i times the weights renormalised to mean 1,
// w'_i = w_i * n / sum_j w_j, so that its callers' division by n (loss and
// scale = 1 / n) gives the weighted mean and its gradient unchanged: it
// returns sum_i w'_i loss_i and writes dz_i = scale * w'_i * d loss_i / dz_i.
// Weights of 1 give w'_i = 1 exactly, hence the unweighted results; a batch
// whose weights are all 0 has loss 0 and gradient 0.
#pragma once

#include <cstdint>

namespace pyfastnn {

// Codes shared with pyfastnn/_spec.py.
enum class Output : int {
  softmax = 0,
  sigmoid = 1,
  identity = 2,
  sparsemax = 3,
  relumax = 4,
  entmax15 = 5,  // alpha-entmax at alpha = 1.5, exact threshold
  entmax = 6,    // alpha-entmax at OutputSpec::alpha > 1, threshold by bisection
};
constexpr int kNumOutputs = 7;

// natural: the output's own loss (cross-entropy, binary CE, squared error; the
// Fenchel-Young loss of an entmax output).
enum class Loss : int { natural = 0, sparsemax = 1, eps_cross_entropy = 2, perceptron = 3 };
constexpr int kNumLosses = 4;

struct OutputSpec {
  Output output = Output::softmax;
  Loss loss = Loss::natural;
  double relumax_b = 1.0;  // b of a relumax output
  double eps = 1e-3;       // smoothing of eps_cross_entropy
  double alpha = 1.5;      // alpha > 1 of an entmax output
};

// Whether the pair is supported: the classic outputs take their natural loss
// (identity also the perceptron loss), the sparse ones the sparsemax loss or
// eps cross-entropy.
bool output_loss_valid(const OutputSpec& spec);
// Whether targets must be integer labels (the other pairs also take real targets).
bool needs_labels(const OutputSpec& spec);

// Exactly one of `labels` ((n,), each in [0, K)) and `values` ((n, K)) is set;
// `weights` ((n,), finite, >= 0) are the sample weights, or nullptr for none
// (every weight 1, the fast path).
template <typename T>
struct TargetView {
  const int64_t* labels = nullptr;
  const T* values = nullptr;
  const T* weights = nullptr;
};

// sum of w[0..n) in double (rows in order), or n when w == nullptr.
template <typename T>
double weight_sum(const T* w, int64_t n);

template <typename T>
void output_forward(const OutputSpec& spec, const T* Z, int64_t n, int64_t K, T* out);

template <typename T>
double output_loss_grad(const OutputSpec& spec, const T* Z, int64_t n, int64_t K,
                        TargetView<T> target, T* dZ, T scale);

}  // namespace pyfastnn
