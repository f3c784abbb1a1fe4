// AVX-512 exp for softmax rows (see exp_kernels.hpp). Compiled with -mavx512f
// -mavx512vl -mavx512bw -mavx512dq -mfma; everything but the entry point has
// internal linkage. Written in the vocabulary of simd/vec_avx512.hpp.
#ifdef PYFASTNN_X86

#include <cstdint>

#include "simd/exp_kernels.hpp"
#include "simd/vec_avx512.hpp"

namespace pyfastnn {
namespace {

constexpr float kLog2e = 1.44269504088896341f;
// ln 2 in two parts: the first has few bits, so k * kLn2Hi is exact.
constexpr float kLn2Hi = 0.693359375f;
constexpr float kLn2Lo = -2.12194440e-4f;
// Below this exp(x) is not a normal float; above this it overflows (the
// clamp keeps the reduction finite, and 2^128 then gives inf).
constexpr float kMinArg = -87.3365447f;
constexpr float kMaxArg = 88.8f;
// Cephes expf: exp(r) ~ 1 + r + r^2 (p0 r^5 + ... + p5), |r| <= ln2/2.
constexpr float kP0 = 1.9875691500e-4f, kP1 = 1.3981999507e-3f, kP2 = 8.3334519073e-3f,
                kP3 = 4.1665795894e-2f, kP4 = 1.6666665459e-1f, kP5 = 5.0000001201e-1f;

using simd::avx512::F32;
using V = F32::V;

// 16 lanes of exp(x); lanes with x < kMinArg give 0, NaN stays NaN, +inf
// and x > 88.72 give inf.
inline V exp16(V x) {
  const F32::Mask tiny = F32::gt(F32::set1(kMinArg), x);
  // (a NaN x gives a finite xc here: min returns its second operand; the NaN
  // is put back at the end)
  const V xc = F32::max(F32::min(x, F32::set1(kMaxArg)), F32::set1(kMinArg));
  const V k = F32::round(F32::mul(xc, F32::set1(kLog2e)));
  V r = F32::fnmadd(k, F32::set1(kLn2Hi), xc);
  r = F32::fnmadd(k, F32::set1(kLn2Lo), r);
  V p = F32::set1(kP0);
  p = F32::fmadd(p, r, F32::set1(kP1));
  p = F32::fmadd(p, r, F32::set1(kP2));
  p = F32::fmadd(p, r, F32::set1(kP3));
  p = F32::fmadd(p, r, F32::set1(kP4));
  p = F32::fmadd(p, r, F32::set1(kP5));
  const V r2 = F32::mul(r, r);
  p = F32::fmadd(p, r2, F32::add(r, F32::set1(1.0f)));
  const V e = F32::scalef(p, k);  // p * 2^k
  const V nan_kept = F32::select(e, F32::unord(x, x), x);
  return F32::zero_unless(static_cast<F32::Mask>(~tiny), nan_kept);
}

// ---- double: Cody-Waite reduction, degree-13 Taylor polynomial --------------------
// |r| <= ln2/2 = 0.347: the first omitted term r^14 / 14! < 4.3e-18 (below half an
// ulp of 1); 2^k by scalef. Lanes with x below kMinArgD (exp not a normal double)
// give 0, NaN stays NaN, overflow gives inf.
constexpr double kLog2eD = 1.4426950408889634074;
constexpr double kLn2HiD = 0.693145751953125;  // few bits: k * kLn2HiD is exact
constexpr double kLn2LoD = 1.42860682030941723212e-6;
constexpr double kMinArgD = -708.3964185322641;
constexpr double kMaxArgD = 709.8;
constexpr int kTaylorDegreeD = 13;

inline __m512d exp8(__m512d x) {
  const __mmask8 tiny = _mm512_cmp_pd_mask(_mm512_set1_pd(kMinArgD), x, _CMP_GT_OQ);
  const __m512d xc = _mm512_max_pd(_mm512_min_pd(x, _mm512_set1_pd(kMaxArgD)),
                                   _mm512_set1_pd(kMinArgD));
  const __m512d k = _mm512_roundscale_pd(_mm512_mul_pd(xc, _mm512_set1_pd(kLog2eD)),
                                         _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512d r = _mm512_fnmadd_pd(k, _mm512_set1_pd(kLn2HiD), xc);
  r = _mm512_fnmadd_pd(k, _mm512_set1_pd(kLn2LoD), r);
  // Horner on 1/n!: p = 1 + r (1 + r/2 (1 + r/3 (... (1 + r/13))))
  __m512d p = _mm512_set1_pd(1.0);
  for (int n = kTaylorDegreeD; n >= 1; --n)
    p = _mm512_fmadd_pd(_mm512_mul_pd(r, _mm512_set1_pd(1.0 / n)), p, _mm512_set1_pd(1.0));
  const __m512d e = _mm512_scalef_pd(p, k);
  const __m512d nan_kept = _mm512_mask_mov_pd(e, _mm512_cmp_pd_mask(x, x, _CMP_UNORD_Q), x);
  return _mm512_maskz_mov_pd(static_cast<__mmask8>(~tiny), nan_kept);
}

}  // namespace

float exp_shifted_f32_avx512(const float* z, int64_t n, float m, float scale, float* p) {
  constexpr int W = F32::W;
  const int64_t full = n - n % W;
  const V vm = F32::set1(m), vs = F32::set1(scale);
  V s = F32::zero();
  for (int64_t k = 0; k < full; k += W) {
    const V e = exp16(F32::mul(F32::sub(F32::loadu(z + k), vm), vs));
    F32::storeu(p + k, e);
    s = F32::add(s, e);
  }
  if (full < n) {
    const F32::Mask tail = F32::mask(n - full);
    const V e = exp16(F32::mul(F32::sub(F32::maskload(z + full, tail, vm), vm), vs));
    F32::maskstore(p + full, tail, e);
    s = F32::add(s, F32::zero_unless(tail, e));
  }
  return F32::hsum(s);
}

double exp_shifted_f64_avx512(const double* z, int64_t n, double m, double scale, double* p) {
  constexpr int W = 8;
  const int64_t full = n - n % W;
  const __m512d vm = _mm512_set1_pd(m), vs = _mm512_set1_pd(scale);
  __m512d s = _mm512_setzero_pd();
  for (int64_t k = 0; k < full; k += W) {
    const __m512d e = exp8(_mm512_mul_pd(_mm512_sub_pd(_mm512_loadu_pd(z + k), vm), vs));
    _mm512_storeu_pd(p + k, e);
    s = _mm512_add_pd(s, e);
  }
  if (full < n) {
    const __mmask8 tail = _cvtu32_mask8((1u << (n - full)) - 1u);
    const __m512d e =
        exp8(_mm512_mul_pd(_mm512_sub_pd(_mm512_mask_loadu_pd(vm, tail, z + full), vm), vs));
    _mm512_mask_storeu_pd(p + full, tail, e);
    s = _mm512_add_pd(s, _mm512_maskz_mov_pd(tail, e));
  }
  return _mm512_reduce_add_pd(s);
}

float exp_minus_max_f32_avx512(const float* z, int64_t n, float* p, float* max) {
  constexpr int W = F32::W;
  const int64_t full = n - n % W;
  const F32::Mask tail = F32::mask(n - full);
  const V neg_inf = F32::set1(-__builtin_inff());
  V m = neg_inf;
  for (int64_t k = 0; k < full; k += W) m = F32::max(F32::loadu(z + k), m);
  if (full < n) m = F32::max(F32::maskload(z + full, tail, neg_inf), m);
  const float mx = F32::hmax(m);
  const V shift = F32::set1(mx);
  V s = F32::zero();
  for (int64_t k = 0; k < full; k += W) {
    const V e = exp16(F32::sub(F32::loadu(z + k), shift));
    F32::storeu(p + k, e);
    s = F32::add(s, e);
  }
  if (full < n) {
    const V e = exp16(F32::sub(F32::maskload(z + full, tail), shift));
    F32::maskstore(p + full, tail, e);
    s = F32::add(s, F32::zero_unless(tail, e));
  }
  *max = mx;
  return F32::hsum(s);
}

}  // namespace pyfastnn

#endif  // PYFASTNN_X86
