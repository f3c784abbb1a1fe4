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
// AVX-512 only (call when active_isa() == Isa::avx512); other ISAs use std::exp.
#pragma once

#include <cstdint>

namespace pyfastnn {

#ifdef PYFASTNN_X86
float exp_minus_max_f32_avx512(const float* z, int64_t n, float* p, float* max);
#endif

}  // namespace pyfastnn
