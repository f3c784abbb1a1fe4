// Dense (fully connected) layer: forward/backward pair.
//
//   dense_forward:  Z (n, out) = H (n, in) @ W (in, out) + b (out)
//                   A (n, out) = f(Z)            (skipped when A == nullptr)
//                   returns whether every element of Z is finite
//   dense_backward: given dZ (n, out) = d loss / d Z
//                   dW (in, out) = H^T @ dZ + 2 l2 W + l1 sign(W)  (if dW != nullptr)
//                   db (out)     = sum over rows of dZ             (if db != nullptr)
//                   dH (n, in)   = dZ @ W^T, times mask (n, in) when mask != nullptr
//                                  (dropout) and times f'(Z_prev) when Z_prev != nullptr,
//                                  so dH is then d loss / d Z_prev (if dH != nullptr)
//
// Bias add and activation are fused into the GEMM epilogue (applied to each
// block of Z while it is in cache); so are the penalty gradient and the
// activation derivative in the backward products.
#pragma once

#include <cstdint>

#include "nn/activations.hpp"
#include "nn/optim_kernels.hpp"
#include "nn/update_forward.hpp"

namespace pyfastnn {

struct DenseShape {
  int64_t n;    // rows (samples)
  int64_t in;   // input features
  int64_t out;  // output features
};

// The optimiser step fused into dense_backward: each finished block of dW
// updates its block of W (and of the optimiser state) while it is in cache
// (dH is computed first, from W before the step); then b from db. db is
// written; dW is not when the batch fits one KC block of the GEMM (each block
// of the gradient then lives in a per-thread scratch block: GemmEpilogue::
// discard_c), so its contents are unspecified after the call. Rules:
// optim_kernels.hpp.
template <typename T>
struct FusedUpdate {
  UpdateRule<T> rule;
  T* W;
  T* b;
  T* W_s1 = nullptr;  // optimiser state of W and b (velocity or m), when the rule has it
  T* b_s1 = nullptr;
  T* W_s2 = nullptr;  // (v)
  T* b_s2 = nullptr;
};

// Returns false when some element of Z is NaN or infinite.
//
// dense_update_forward: for a batch of one row (n == 1), the previous step's
// optimiser step of W (deferred, update_forward.hpp) fused with the forward
// pass: W, W_s1, W_s2 take the step, then Z (1, out) = H @ W + b and A = f(Z)
// as in dense_forward. With n == 0 only the step is taken (H, Z, A unused).
// Columns go to threads when W is large.
template <typename T>
bool dense_update_forward(DenseShape s, const T* H, const DeferredStep<T>& step, T* W, T* W_s1,
                          T* W_s2, const T* b, T* Z, Activation act, T act_param, T* A);

template <typename T>
bool dense_forward(DenseShape s, const T* H, const T* W, const T* b, T* Z, Activation act,
                   T act_param, T* A);

template <typename T>
void dense_backward(DenseShape s, const T* H, const T* W, const T* dZ, T l1, T l2, T* dW,
                    T* db, T* dH, const T* Z_prev, Activation act_prev, T act_param,
                    const T* mask = nullptr, const FusedUpdate<T>* update = nullptr);

// l2 * sum(W^2) + l1 * sum(|W|) over `count` weights, accumulated in double.
template <typename T>
double weight_penalty(const T* W, int64_t count, T l1, T l2);

}  // namespace pyfastnn
