// AVX-512 exp for softmax rows (see exp_kernels.hpp). Compiled with -mavx512f
// -mavx512vl -mavx512bw -mavx512dq -mfma; everything but the entry point has
// internal linkage.
#ifdef PYFASTNN_X86

#include <immintrin.h>

#include <cstdint>

#include "simd/exp_kernels.hpp"

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

// 16 lanes of exp(x); lanes with x < kMinArg give 0, NaN stays NaN, +inf
// and x > 88.72 give inf.
inline __m512 exp16(__m512 x) {
  const __mmask16 tiny = _mm512_cmp_ps_mask(x, _mm512_set1_ps(kMinArg), _CMP_LT_OQ);
  // (a NaN x gives a finite xc here: min returns its second operand; the NaN
  // is put back at the end)
  const __m512 xc = _mm512_max_ps(_mm512_min_ps(x, _mm512_set1_ps(kMaxArg)),
                                  _mm512_set1_ps(kMinArg));
  const __m512 k = _mm512_roundscale_ps(_mm512_mul_ps(xc, _mm512_set1_ps(kLog2e)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(k, _mm512_set1_ps(kLn2Hi), xc);
  r = _mm512_fnmadd_ps(k, _mm512_set1_ps(kLn2Lo), r);
  __m512 p = _mm512_set1_ps(kP0);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(kP1));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(kP2));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(kP3));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(kP4));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(kP5));
  const __m512 r2 = _mm512_mul_ps(r, r);
  p = _mm512_fmadd_ps(p, r2, _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
  const __m512 e = _mm512_scalef_ps(p, k);  // p * 2^k
  const __m512 nan_kept = _mm512_mask_mov_ps(e, _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q), x);
  return _mm512_maskz_mov_ps(static_cast<__mmask16>(~tiny), nan_kept);
}

}  // namespace

float exp_minus_max_f32_avx512(const float* z, int64_t n, float* p, float* max) {
  const int64_t full = n - n % 16;
  const __mmask16 tail = _cvtu32_mask16((1u << (n - full)) - 1u);
  const __m512 neg_inf = _mm512_set1_ps(-__builtin_inff());
  __m512 m = neg_inf;
  for (int64_t k = 0; k < full; k += 16) m = _mm512_max_ps(_mm512_loadu_ps(z + k), m);
  if (full < n) m = _mm512_max_ps(_mm512_mask_loadu_ps(neg_inf, tail, z + full), m);
  const float mx = _mm512_reduce_max_ps(m);
  const __m512 shift = _mm512_set1_ps(mx);
  __m512 s = _mm512_setzero_ps();
  for (int64_t k = 0; k < full; k += 16) {
    const __m512 e = exp16(_mm512_sub_ps(_mm512_loadu_ps(z + k), shift));
    _mm512_storeu_ps(p + k, e);
    s = _mm512_add_ps(s, e);
  }
  if (full < n) {
    const __m512 e = exp16(_mm512_sub_ps(_mm512_maskz_loadu_ps(tail, z + full), shift));
    _mm512_mask_storeu_ps(p + full, tail, e);
    s = _mm512_add_ps(s, _mm512_maskz_mov_ps(tail, e));
  }
  *max = mx;
  return _mm512_reduce_add_ps(s);
}

}  // namespace pyfastnn

#endif  // PYFASTNN_X86
