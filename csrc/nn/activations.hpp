// Elementwise activations of hidden layers and their derivatives.
//
//   activation_forward:  A[i] = f(Z[i])                  Z, A: n values
//   bias_relu_family:    the bias and the relu family's f in one pass (GEMM epilogue)
//   activation_backward: dZ[i] = dA[i] * f'(Z[i])        in place allowed (dZ == dA),
//                        on a block of rows with their own strides
//
// NaN propagates through every activation (relu(NaN) = NaN), so a NaN in the
// inputs or parameters always reaches the outputs and is reported by the caller.
#pragma once

#include <cmath>
#include <cstdint>

namespace pyfastnn {

// Codes shared with pyfastnn/_spec.py.
enum class Activation : int {
  identity = 0,
  relu = 1,
  scaled_relu = 2,  // c * relu(z), c = param
  leaky_relu = 3,   // z > 0 ? z : alpha * z, alpha = param
  tanh = 4,
  sigmoid = 5,
  softplus = 6,  // log(1 + e^z)
  gelu = 7,      // z * Phi(z), exact (erf) form
};
constexpr int kNumActivations = 8;

template <typename T>
inline T sigmoid(T z) {
  // Two branches keep exp() from overflowing for large |z|.
  if (z >= T(0)) return T(1) / (T(1) + std::exp(-z));
  const T e = std::exp(z);
  return e / (T(1) + e);
}

template <typename T>
inline T relu(T z) {
  return z < T(0) ? T(0) : z;
}

template <typename T>
inline T softplus(T z) {
  return relu(z) + std::log1p(std::exp(-std::fabs(z)));
}

template <typename T>
inline T normal_cdf(T z) {
  return T(0.5) * (T(1) + std::erf(z * T(0.70710678118654752440)));
}

template <typename T>
inline T normal_pdf(T z) {
  return std::exp(T(-0.5) * z * z) * T(0.39894228040143267794);
}

template <typename T>
void activation_forward(Activation act, T param, const T* Z, T* A, int64_t n) {
  switch (act) {
    case Activation::identity:
      for (int64_t i = 0; i < n; ++i) A[i] = Z[i];
      break;
    case Activation::relu:
      for (int64_t i = 0; i < n; ++i) A[i] = relu(Z[i]);
      break;
    case Activation::scaled_relu:
      for (int64_t i = 0; i < n; ++i) A[i] = param * relu(Z[i]);
      break;
    case Activation::leaky_relu:
      for (int64_t i = 0; i < n; ++i) {
        const T z = Z[i];
        A[i] = z < T(0) ? param * z : z;
      }
      break;
    case Activation::tanh:
      for (int64_t i = 0; i < n; ++i) A[i] = std::tanh(Z[i]);
      break;
    case Activation::sigmoid:
      for (int64_t i = 0; i < n; ++i) A[i] = sigmoid(Z[i]);
      break;
    case Activation::softplus:
      for (int64_t i = 0; i < n; ++i) A[i] = softplus(Z[i]);
      break;
    case Activation::gelu:
      for (int64_t i = 0; i < n; ++i) A[i] = Z[i] * normal_cdf(Z[i]);
      break;
  }
}

// Rows r < m of n values: dZ[r*ldd + i] = dA[r*lda + i] * (Z[r*ldz + i] > 0 ?
// pos : other); dZ == dA allowed. A whole block of rows per call: GEMM
// epilogues hand over micro-tiles (8 x 32 floats with AVX-512). The kernel of
// the ISA chosen (nn/kernels/activation_table.hpp).
void scale_where_positive(const float* Z, int64_t ldz, const float* dA, int64_t lda, float* dZ,
                          int64_t ldd, int64_t m, int64_t n, float pos, float other);
void scale_where_positive(const double* Z, int64_t ldz, const double* dA, int64_t lda,
                          double* dZ, int64_t ldd, int64_t m, int64_t n, double pos,
                          double other);

// Whether bias_relu_family computes act (the relu family and identity).
inline bool in_relu_family(Activation act) {
  return act == Activation::identity || act == Activation::relu ||
         act == Activation::scaled_relu || act == Activation::leaky_relu;
}

// Rows r < m of n values of C (row stride ldc) += bias (n); A (row stride lda)
// = act(C) for act in_relu_family (A null: the bias only, any act); returns
// whether any C is NaN or infinite. The kernel of the ISA chosen.
bool bias_relu_family(const float* bias, Activation act, float param, float* C, int64_t ldc,
                      float* A, int64_t lda, int64_t m, int64_t n);
bool bias_relu_family(const double* bias, Activation act, double param, double* C, int64_t ldc,
                      double* A, int64_t lda, int64_t m, int64_t n);

// Whether activation_backward gives the same result when handed the
// activations f(Z) (times a dropout mask of 0 and positive values, which the
// caller also multiplies dA by) in place of Z: true for the relu family, whose
// derivative only asks whether z > 0, when f(z) > 0 exactly where z > 0
// (leaky relu with alpha >= 0; scaled relu with c >= 1, so that c * z cannot
// round to 0).
template <typename T>
bool derivative_from_activations(Activation act, T param) {
  switch (act) {
    case Activation::relu:
      return true;
    case Activation::leaky_relu:
      return param >= T(0);
    case Activation::scaled_relu:
      return param >= T(1);
    default:
      return false;
  }
}

// f'(z) at z = 0 for the relu family is taken as 0 (relu, scaled relu) and
// alpha (leaky relu): the subgradient at the kink that keeps dead units dead.
// Rows r < m of n values, row strides ldz (Z), lda (dA) and ldd (dZ).
template <typename T>
void activation_backward(Activation act, T param, const T* Z, int64_t ldz, const T* dA,
                         int64_t lda, T* dZ, int64_t ldd, int64_t m, int64_t n) {
  // The relu family multiplies by a 0/1 (or alpha/1) factor, as the NumPy
  // reference does, in a function of its own so that it vectorises.
  switch (act) {
    case Activation::relu:
      return scale_where_positive(Z, ldz, dA, lda, dZ, ldd, m, n, T(1), T(0));
    case Activation::scaled_relu:
      return scale_where_positive(Z, ldz, dA, lda, dZ, ldd, m, n, param, T(0));
    case Activation::leaky_relu:
      return scale_where_positive(Z, ldz, dA, lda, dZ, ldd, m, n, T(1), param);
    default:
      break;
  }
  for (int64_t r = 0; r < m; ++r, Z += ldz, dA += lda, dZ += ldd) {
    switch (act) {
      case Activation::tanh:
        for (int64_t i = 0; i < n; ++i) {
          const T t = std::tanh(Z[i]);
          dZ[i] = dA[i] * (T(1) - t * t);
        }
        break;
      case Activation::sigmoid:
        for (int64_t i = 0; i < n; ++i) {
          const T s = sigmoid(Z[i]);
          dZ[i] = dA[i] * (s * (T(1) - s));
        }
        break;
      case Activation::softplus:
        for (int64_t i = 0; i < n; ++i) dZ[i] = dA[i] * sigmoid(Z[i]);
        break;
      case Activation::gelu:
        for (int64_t i = 0; i < n; ++i)
          dZ[i] = dA[i] * (normal_cdf(Z[i]) + Z[i] * normal_pdf(Z[i]));
        break;
      default:  // identity (the relu family returned above)
        for (int64_t i = 0; i < n; ++i) dZ[i] = dA[i];
        break;
    }
  }
}

}  // namespace pyfastnn
