// Vectorised exp for the softmax rows of the output layer (losses.cpp).
//
//   exp_minus_max_f32: m = max_k z[k], p[k] = exp(z[k] - m) for k < n (float);
//                      returns the sum of the p[k] (in a fixed order: lane
//                      by lane, then across lanes) and stores m in *max.
//
// The exps are within 1 ulp of exp wherever exp(z - m) is a normal float
// (z - m >= -87.33); below that they are 0 instead of a subnormal (< 1.2e-38).
// exp(+inf) = inf and a NaN in z makes its p and the sum NaN.
// Cody-Waite reduction to r in [-ln2/2, ln2/2] and the degree-5 polynomial
// of Cephes' expf (S. L. Moshier, Cephes Math Library), then scaling by 2^k.
// AVX-512 and AVX2; call it through the softmax exp family below, which falls
// back to std::exp on the portable ISA and for the network's double softmax.
//
// The softmax exp family (a table of runtime/kernel_registry.hpp, "softmax_exp",
// defined in exp_kernels.cpp), shared by the output layers (nn/losses.cpp) and
// the simplex maps (simplex/simplex.cpp):
//   exp_minus_max(z (n), n, p (n), &m): m = max z, p = exp(z - m), returns sum p;
//   exp_shifted(z (n), n, m, scale, p (n)): p = exp((z - m) * scale), returns sum p
//   (m and scale given: the simplex softmax with a temperature);
//   p may be z itself (in place). The network keeps std::exp for double
//   (exp_minus_max); exp_shifted is vectorised for float and double under AVX-512
//   and AVX2.
#pragma once

#include <cstdint>

namespace pyfastnn {

template <typename T>
using ExpMinusMax = T (*)(const T* z, int64_t n, T* p, T* max);

template <typename T>
using ExpShifted = T (*)(const T* z, int64_t n, T m, T scale, T* p);

template <typename T>
struct SoftmaxExpKernels {
  ExpMinusMax<T> exp_minus_max = nullptr;
  ExpShifted<T> exp_shifted = nullptr;
};

// The active ISA's kernels for T = float or double.
template <typename T>
ExpMinusMax<T> active_exp_minus_max();
template <typename T>
ExpShifted<T> active_exp_shifted();

#ifdef PYFASTNN_X86
float exp_minus_max_f32_avx512(const float* z, int64_t n, float* p, float* max);
// p[k] = exp((z[k] - m) * scale) for k < n, returns their sum (lane by lane, then
// across lanes); the double exp is within ~1 ulp (degree-13 Taylor after reduction).
float exp_shifted_f32_avx512(const float* z, int64_t n, float m, float scale, float* p);
double exp_shifted_f64_avx512(const double* z, int64_t n, double m, double scale, double* p);
// The same three on AVX2 (exp_kernels_avx2.cpp, simd::exp of vec_math.hpp): the
// same polynomials and error bounds.
float exp_minus_max_f32_avx2(const float* z, int64_t n, float* p, float* max);
float exp_shifted_f32_avx2(const float* z, int64_t n, float m, float scale, float* p);
double exp_shifted_f64_avx2(const double* z, int64_t n, double m, double scale, double* p);
#endif

}  // namespace pyfastnn
