// AVX2 exp for softmax rows (see exp_kernels.hpp): the kernels of the AVX-512
// file on 8 float / 4 double lanes, with simd::exp (vec_math.hpp: the same
// reduction and polynomials, 2^k through the exponent bits). Compiled with
// -mavx2 -mfma; everything but the entry points has internal linkage.
//
// Shapes: z, p are (n); p may be z.
#ifdef PYFASTNN_X86

#include <cstdint>

#include "simd/exp_kernels.hpp"
#include "simd/vec_avx2.hpp"
#include "simd/vec_math.hpp"

namespace pyfastnn {
namespace {

// p[k] = exp((z[k] - m) * scale), k < n; returns the sum (lane by lane, then across).
template <typename S>
typename S::T exp_shifted_avx2(const typename S::T* z, int64_t n, typename S::T m,
                               typename S::T scale, typename S::T* p) {
  using V = typename S::V;
  constexpr int W = S::W;
  const int64_t full = n - n % W;
  const V vm = S::set1(m), vs = S::set1(scale);
  V s = S::zero();
  for (int64_t k = 0; k < full; k += W) {
    const V e = simd::exp<S>(S::mul(S::sub(S::loadu(z + k), vm), vs));
    S::storeu(p + k, e);
    s = S::add(s, e);
  }
  if (full < n) {  // the lanes past n read as 0, give exp(-m scale) and are not added
    const auto tail = S::mask(n - full);
    const V e = simd::exp<S>(S::mul(S::sub(S::maskload(z + full, tail), vm), vs));
    S::maskstore(p + full, tail, e);
    s = S::add(s, S::zero_unless(S::lanes_below(n - full), e));
  }
  return S::hsum(s);
}

}  // namespace

float exp_shifted_f32_avx2(const float* z, int64_t n, float m, float scale, float* p) {
  return exp_shifted_avx2<simd::avx2::F32>(z, n, m, scale, p);
}

double exp_shifted_f64_avx2(const double* z, int64_t n, double m, double scale, double* p) {
  return exp_shifted_avx2<simd::avx2::F64>(z, n, m, scale, p);
}

float exp_minus_max_f32_avx2(const float* z, int64_t n, float* p, float* max) {
  using S = simd::avx2::F32;
  using V = S::V;
  constexpr int W = S::W;
  const int64_t full = n - n % W;
  const V neg_inf = S::set1(-__builtin_inff());
  V m = neg_inf;  // (a NaN in z is skipped here, as in the AVX-512 kernel; its exp is NaN)
  for (int64_t k = 0; k < full; k += W) m = S::max(S::loadu(z + k), m);
  if (full < n)
    m = S::max(S::select(neg_inf, S::lanes_below(n - full), S::maskload(z + full, S::mask(n - full))),
               m);
  const float mx = S::hmax(m);
  *max = mx;
  return exp_shifted_avx2<S>(z, n, mx, 1.0f, p);
}

}  // namespace pyfastnn

#endif  // PYFASTNN_X86
