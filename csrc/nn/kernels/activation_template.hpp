// The activation kernels' one source, compiled once per ISA by
// activation_portable.cpp, activation_avx2.cpp and activation_avx512.cpp (each
// includes this file and returns make_kernels<T>(); see activation_table.hpp
// for the shapes). Everything here has internal linkage, so each file keeps
// its own copy, compiled for its ISA; the loops are plain C++ that the
// compiler vectorises for the file's ISA.
//
// Why per ISA: compiled for the baseline (SSE2, 4 floats per instruction) the
// bias-and-relu epilogue, relu's forward and its derivative took 8.5% of the
// CPU time of a 784-256-26 batch-64 SGD epoch (perf, AVX-512 machine).
#pragma once

#include <cstdint>

#include "nn/activations.hpp"
#include "nn/kernels/activation_table.hpp"

namespace pyfastnn {
namespace activation_detail {
namespace {

// The activation of one value of the relu family (Kind: the Activation), as
// nn/activations.hpp computes it: NaN propagates, relu(-0) = -0.
template <typename T, Activation Kind>
inline T relu_family(T z, T param) {
  if constexpr (Kind == Activation::relu) {
    return z < T(0) ? T(0) : z;
  } else if constexpr (Kind == Activation::scaled_relu) {
    return param * (z < T(0) ? T(0) : z);
  } else if constexpr (Kind == Activation::leaky_relu) {
    return z < T(0) ? param * z : z;
  } else {
    return z;
  }
}

// One pass over each row: z += b, flag a non-finite z (z - z is 0 for finite
// z and NaN otherwise: an integer OR, which vectorises), a = f(z).
template <typename T, Activation Kind, bool Store>
bool bias_rows(const T* __restrict bias, T param, T* __restrict C, int64_t ldc,
               T* __restrict A, int64_t lda, int64_t m, int64_t n) {
  int bad = 0;
  for (int64_t r = 0; r < m; ++r) {
    T* __restrict z = C + r * ldc;
    T* __restrict a = Store ? A + r * lda : nullptr;
    for (int64_t j = 0; j < n; ++j) {
      const T v = z[j] + bias[j];
      z[j] = v;
      bad |= int(v - v != T(0));
      if (Store) a[j] = relu_family<T, Kind>(v, param);
    }
  }
  return bad != 0;
}

template <typename T>
bool bias_relu_family(const T* bias, Activation act, T param, T* C, int64_t ldc, T* A,
                      int64_t lda, int64_t m, int64_t n) {
  if (A == nullptr)
    return bias_rows<T, Activation::identity, false>(bias, param, C, ldc, A, lda, m, n);
  switch (act) {
    case Activation::relu:
      return bias_rows<T, Activation::relu, true>(bias, param, C, ldc, A, lda, m, n);
    case Activation::scaled_relu:
      return bias_rows<T, Activation::scaled_relu, true>(bias, param, C, ldc, A, lda, m, n);
    case Activation::leaky_relu:
      return bias_rows<T, Activation::leaky_relu, true>(bias, param, C, ldc, A, lda, m, n);
    default:  // identity (the caller hands over only the relu family and identity)
      return bias_rows<T, Activation::identity, true>(bias, param, C, ldc, A, lda, m, n);
  }
}

template <typename T>
void scale_where_positive(const T* Z, int64_t ldz, const T* dA, int64_t lda, T* dZ, int64_t ldd,
                          int64_t m, int64_t n, T pos, T other) {
  for (int64_t r = 0; r < m; ++r, Z += ldz, dA += lda, dZ += ldd)
    for (int64_t i = 0; i < n; ++i) dZ[i] = dA[i] * (Z[i] > T(0) ? pos : other);
}

template <typename T>
ActivationKernels<T> make_kernels() {
  ActivationKernels<T> k;
  k.bias_relu_family = bias_relu_family<T>;
  k.scale_where_positive = scale_where_positive<T>;
  return k;
}

}  // namespace
}  // namespace activation_detail
}  // namespace pyfastnn
