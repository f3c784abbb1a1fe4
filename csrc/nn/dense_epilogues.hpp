// The GEMM epilogues of a dense layer (dense.cpp, dense_step.cpp,
// deferred_update.cpp). Each works on rows [i0, i0+m), columns [j0, j0+n) of
// C, given at C (the block's first element, row stride ldc); the other arrays
// they read or write have C's shape, with their own row stride `ld`.
#pragma once

#include <atomic>
#include <cstdint>

#include "nn/activations.hpp"
#include "nn/dense.hpp"
#include "nn/optim_kernels.hpp"

namespace pyfastnn {

// C (m, n, row stride ldc) += 2 l2 W + l1 sign(W) at block (i0, j0) of W
// (row stride ldw).
template <typename T>
void add_penalty_grad_block(const T* W, int64_t ldw, Penalty<T> penalty, T* C, int64_t ldc,
                            int64_t i0, int64_t j0, int64_t m, int64_t n) {
  add_penalty_grad(W + i0 * ldw + j0, ldw, penalty.l1, penalty.l2, C, ldc, m, n);
}

// C holds X@W; add the bias, keep Z in C, write A = f(Z), and note whether
// any Z was NaN or infinite (z - z is 0 for finite z and NaN otherwise). The
// bias, the flag and the relu family in one pass by the ISA's kernel; the
// flag is an integer OR, which vectorises: a floating-point sum of z - z is one
// serial chain of additions (the compiler may not reorder it), and took 10% of
// the CPU time of a 64-100-10 batch-200 epoch (perf).
template <typename T>
struct BiasActivation {
  const T* bias;
  Activation act;
  T param;
  T* A;  // row stride ld, or nullptr: no activation
  int64_t ld;
  std::atomic<bool>* nonfinite;
  static void apply(const void* ctx, T* C, int64_t ldc, int64_t i0, int64_t j0, int64_t m,
                    int64_t n) {
    const auto& e = *static_cast<const BiasActivation*>(ctx);
    T* A = e.A != nullptr ? e.A + i0 * e.ld + j0 : nullptr;
    // Other activations: the kernel adds the bias (A null), then their own loop.
    const bool fused = A == nullptr || in_relu_family(e.act);
    const bool bad = bias_relu_family(e.bias + j0, e.act, e.param, C, ldc, fused ? A : nullptr,
                                      e.ld, m, n);
    if (!fused)
      for (int64_t r = 0; r < m; ++r)
        activation_forward(e.act, e.param, C + r * ldc, A + r * e.ld, n);
    if (bad) e.nonfinite->store(true, std::memory_order_relaxed);
  }
};

// C holds dZ@W^T; multiply by the dropout mask (if any), then by g'(Z_below),
// to get d loss / d Z_below.
template <typename T>
struct ActivationGrad {
  const T* Z;     // row stride ld
  const T* mask;  // row stride ld, or nullptr: no dropout
  int64_t ld;
  Activation act;
  T param;
  static void apply(const void* ctx, T* C, int64_t ldc, int64_t i0, int64_t j0, int64_t m,
                    int64_t n) {
    const auto& e = *static_cast<const ActivationGrad*>(ctx);
    const int64_t at = i0 * e.ld + j0;
    if (e.mask != nullptr) {
      for (int64_t r = 0; r < m; ++r) {
        T* c = C + r * ldc;
        const T* mk = e.mask + at + r * e.ld;
        for (int64_t j = 0; j < n; ++j) c[j] *= mk[j];
      }
    }
    activation_backward(e.act, e.param, e.Z + at, e.ld, C, ldc, C, ldc, m, n);
  }
};

// C holds X^T@dZ; add the gradient of the penalty.
template <typename T>
struct PenaltyGrad {
  const T* W;  // row stride ld
  int64_t ld;
  Penalty<T> penalty;
  static void apply(const void* ctx, T* C, int64_t ldc, int64_t i0, int64_t j0, int64_t m,
                    int64_t n) {
    const auto& e = *static_cast<const PenaltyGrad*>(ctx);
    add_penalty_grad_block(e.W, e.ld, e.penalty, C, ldc, i0, j0, m, n);
  }
};

}  // namespace pyfastnn
