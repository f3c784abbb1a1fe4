// A dense layer's optimiser step fused into its weight gradient product
// (the training step, train_step.cpp, unless the weight step is deferred):
//
//   dW (in, out) = X (n, in)^T @ dZ (n, out) + 2 l2 W + l1 sign(W)
//   W, W_s1, W_s2 <- one step of `rule` with gradient dW, block by block: each
//                    finished MC x NC block of dW updates its block of W and
//                    of the state while it is in cache (gemm_consume)
//   db (out)      = column sums of dZ;  b, b_s1, b_s2 <- one step with db
//
// dW is memory the product may use (gemm_consume): when the batch fits one
// KC block of the GEMM it is never written, each block of the gradient
// living in a per-thread scratch block; its contents are unspecified
// afterwards. db is written. Any gradient with respect to X must be taken
// before, from W before the step. Rules: optim_kernels.hpp.
//
// dense_grad_squares, for gradient clipping (whose step must wait for the
// norm of the whole gradient): writes dW (with the penalty gradient) and db
// as dense_backward does and returns ||dW||^2 + ||db||^2 in double, the
// squares of each finished block of dW summed while it is in cache, row by
// row (row_squares: `in` values of workspace), in an order that does not
// depend on the thread count.
#pragma once

#include <cstdint>

#include "nn/dense.hpp"
#include "nn/optim_kernels.hpp"

namespace pyfastnn {

// A dense layer's parameters and their optimiser state, all writable.
template <typename T>
struct DenseParams {
  int64_t in = 0, out = 0;
  T* W = nullptr;     // (in, out)
  T* b = nullptr;     // (out)
  T* W_s1 = nullptr;  // state of W and b (velocity or m), when the rule has it
  T* b_s1 = nullptr;
  T* W_s2 = nullptr;  // (v)
  T* b_s2 = nullptr;
};

template <typename T>
void dense_step_fused(const DenseParams<T>& p, const UpdateRule<T>& rule, int64_t n, const T* X,
                      const T* dZ, Penalty<T> penalty, T* dW, T* db);

template <typename T>
double dense_grad_squares(const DenseParams<T>& p, int64_t n, const T* X, const T* dZ,
                          Penalty<T> penalty, T* dW, T* db, double* row_squares);

}  // namespace pyfastnn
