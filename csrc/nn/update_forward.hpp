// A dense layer's deferred optimiser step fused with its next forward product,
// for minibatches of one row (deferred_update.hpp).
//
// Shapes: W (in, out) row-major, its optimiser state s1, s2 (in, out) or null;
//         h (in), dz (out): the layer's input and d loss / d z at the previous
//         step; x (in): this step's input; z (out): this step's product.
// On the columns [j0, j1) only (threads split the columns, so each keeps its
// share of W in its own cache from step to step):
//   for each row i of W:
//     g = h[i] dz + 2 l2 W[i, :] + l1 sign(W[i, :])
//     W[i, :], s1[i, :], s2[i, :]  <- one step of `rule` with gradient g
//   z = x @ W                       (with the stepped W; skipped if x is null)
// in one pass over W, each element stepped and used in registers: the unfused
// sequence streams W three times (forward, writing dW, update).
//
// W, s1, s2, z, h and dz must not overlap. The kernel of the ISA chosen
// (nn/kernels/optim_table.hpp; the body is nn/kernels/optim_template.hpp).
#pragma once

#include <cstdint>

#include "nn/optim_kernels.hpp"

namespace pyfastnn {

template <typename T>
struct DeferredStep {
  UpdateRule<T> rule;
  T l1 = T(0), l2 = T(0);
  const T* h = nullptr;   // (in)
  const T* dz = nullptr;  // (out)
};

void update_rows_forward(const DeferredStep<float>& step, float* W, float* s1, float* s2,
                         int64_t in, int64_t out, const float* x, float* z, int64_t j0,
                         int64_t j1);
void update_rows_forward(const DeferredStep<double>& step, double* W, double* s1, double* s2,
                         int64_t in, int64_t out, const double* x, double* z, int64_t j0,
                         int64_t j1);

// sum over the (in, out) weights of g^2, g = h[i] dz[j] + the penalty
// gradient at W[i, j]: the squared norm of the deferred step's gradient (for
// gradient clipping with a penalty), in double, in an order that does not
// depend on the thread count.
template <typename T>
double deferred_sum_squares(const DeferredStep<T>& step, const T* W, int64_t in, int64_t out);

}  // namespace pyfastnn
