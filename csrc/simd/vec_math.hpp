// exp, log and pow on the vectors of vec_avx2.hpp / vec_avx512.hpp, one template
// for both vocabularies and both dtypes (S = simd::avx2::F32, avx512::F64, ...).
//
// Include only from *_avx2.cpp or *_avx512.cpp files, after the vocabulary header;
// everything is in an anonymous namespace (each ISA's file its own copy).
//
//   exp(x):        float: Cody-Waite reduction to r in [-ln2/2, ln2/2] and the
//                  degree-5 polynomial of Cephes' expf (S. L. Moshier, Cephes Math
//                  Library), within 1 ulp of std::exp; double: the same reduction
//                  (ln 2 in two parts) and the degree-13 Taylor polynomial (first
//                  omitted term < 4.3e-18), within ~1 ulp. Then 2^k by scalef.
//                  Lanes with x below kMinArg (exp not a normal number) give 0,
//                  NaN stays NaN, large x gives inf.
//   split_log(x):  x positive and normal (the callers clamp): x = m 2^e with m in
//                  [0.75, 1.5) (the vocabulary's split_centered), log m = 2 atanh(s),
//                  s = (m - 1) / (m + 1), |s| <= 0.2, by its series in s^2 (5 terms
//                  float, 11 double: truncation < 1e-8 / 2e-17 relative); e is
//                  returned apart (pow_pos adds it to log2 m = log m / ln 2).
//   pow_pos(x, a): 2^(a log2 x) for positive normal x: log2 x = e + log2(e) log m
//                  as above, y = a log2 x split into round(y) (scalef) and f,
//                  |f| <= 1/2, whose 2^f = exp(f ln 2) takes exp's polynomial: no
//                  second range reduction and no clamps (but AVX2's scalef takes
//                  |y| <= 200 float, 2000 double: the vocabulary's exp2_arg). About
//                  30% fewer instructions than exp(a log x) with the old [sqrt(1/2),
//                  sqrt(2)) split. Relative error about (2 + |y|) ulp (the
//                  absolute error of y becomes the relative error of 2^y), e.g.
//                  <= 30 ulp for x >= 1e-6 and |a| <= 2.
#pragma once

#ifdef PYFASTNN_X86

namespace pyfastnn {
namespace simd {
namespace {

template <typename T>
struct MathConstants;

template <>
struct MathConstants<float> {
  static constexpr float kLog2e = 1.44269504088896341f;
  static constexpr float kLn2Hi = 0.693359375f;  // few bits: k * kLn2Hi is exact
  static constexpr float kLn2Lo = -2.12194440e-4f;
  static constexpr float kMinArg = -87.3365447f;  // below: exp is not a normal float
  static constexpr float kMaxArg = 88.8f;         // above: inf (2^128)
  static constexpr int kLogTerms = 5;  // 2 s (1 + s^2/3 + ... + s^8/9): 0.2^10/11 < 1e-8
  static constexpr float kSmallestNormal = 1.17549435e-38f;
};

template <>
struct MathConstants<double> {
  static constexpr double kLog2e = 1.4426950408889634074;
  static constexpr double kLn2Hi = 0.693145751953125;
  static constexpr double kLn2Lo = 1.42860682030941723212e-6;
  static constexpr double kMinArg = -708.3964185322641;
  static constexpr double kMaxArg = 709.8;
  static constexpr int kLogTerms = 11;  // 2 s (1 + ... + s^20/21): 0.2^22/23 < 2e-17
  static constexpr double kSmallestNormal = 2.2250738585072014e-308;
};

// Cephes expf: exp(r) ~ 1 + r + r^2 (p0 r^5 + ... + p5), |r| <= ln2/2.
constexpr float kExpP0 = 1.9875691500e-4f, kExpP1 = 1.3981999507e-3f, kExpP2 = 8.3334519073e-3f,
                kExpP3 = 4.1665795894e-2f, kExpP4 = 1.6666665459e-1f, kExpP5 = 5.0000001201e-1f;
constexpr int kExpTaylorDegreeD = 13;

// exp(r) for |r| <= ln2/2, float or double.
template <typename S>
inline typename S::V exp_reduced(typename S::V r) {
  using T = typename S::T;
  using V = typename S::V;
  if constexpr (sizeof(T) == 4) {
    V p = S::set1(kExpP0);
    p = S::fmadd(p, r, S::set1(kExpP1));
    p = S::fmadd(p, r, S::set1(kExpP2));
    p = S::fmadd(p, r, S::set1(kExpP3));
    p = S::fmadd(p, r, S::set1(kExpP4));
    p = S::fmadd(p, r, S::set1(kExpP5));
    return S::fmadd(p, S::mul(r, r), S::add(r, S::set1(T(1))));
  } else {  // Horner on 1/n!: 1 + r (1 + r/2 (1 + r/3 (... (1 + r/13))))
    V p = S::set1(T(1));
#pragma GCC unroll 16
    for (int n = kExpTaylorDegreeD; n >= 1; --n)
      p = S::fmadd(S::mul(r, S::set1(T(1) / T(n))), p, S::set1(T(1)));
    return p;
  }
}

template <typename S>
inline typename S::V exp(typename S::V x) {
  using T = typename S::T;
  using C = MathConstants<T>;
  using V = typename S::V;
  const auto tiny = S::gt(S::set1(C::kMinArg), x);
  // (a NaN x gives a finite xc: min/max return their second operand; it is put back)
  const V xc = S::max(S::min(x, S::set1(C::kMaxArg)), S::set1(C::kMinArg));
  const V k = S::round(S::mul(xc, S::set1(C::kLog2e)));
  V r = S::fnmadd(k, S::set1(C::kLn2Hi), xc);
  r = S::fnmadd(k, S::set1(C::kLn2Lo), r);
  const V e = S::scalef(exp_reduced<S>(r), k);
  return S::select(S::select(e, S::unord(x, x), x), tiny, S::zero());
}

// x = 2^e m, m in [0.75, 1.5): e and log m (|s| <= 0.2).
template <typename S>
inline void split_log(typename S::V x, typename S::V* e, typename S::V* log_m) {
  using T = typename S::T;
  using C = MathConstants<T>;
  using V = typename S::V;
  V m;
  S::split_centered(x, e, &m);
  const V s = S::div(S::sub(m, S::set1(T(1))), S::add(m, S::set1(T(1))));
  const V s2 = S::mul(s, s);
  V series = S::set1(T(1) / T(2 * C::kLogTerms - 1));
#pragma GCC unroll 16
  for (int n = C::kLogTerms - 2; n >= 0; --n)
    series = S::fmadd(series, s2, S::set1(T(1) / T(2 * n + 1)));
  *log_m = S::mul(S::add(s, s), series);
}

// x^a = 2^y, y = a log2 x = a e + a log2(e) log m: y = k + f with k = round(y),
// 2^f = exp(f ln 2) by exp's polynomial, then 2^k by scalef (0 below the
// subnormals, inf above the range; AVX2's y clamped by exp2_arg, where both still
// hold). No second range reduction as in exp.
template <typename S>
inline typename S::V pow_pos(typename S::V x, typename S::V a) {
  using T = typename S::T;
  using C = MathConstants<T>;
  using V = typename S::V;
  V e, log_m;
  split_log<S>(x, &e, &log_m);
  const V y = S::exp2_arg(S::fmadd(S::mul(a, S::set1(C::kLog2e)), log_m, S::mul(a, e)));
  const V k = S::round(y);
  const V r = S::mul(S::sub(y, k), S::set1(T(0.693147180559945309)));
  return S::scalef(exp_reduced<S>(r), k);
}

// x^a to ~1e-4 relative (|a| <= 2; ~1e-3 |a| beyond), for a search's first step
// only: log2 m = t P(t), t = m - 1, P of degree 3 (Chebyshev fit on [-0.25, 0.5):
// 6.1e-5 absolute), 2^f by a cubic (fit on [-0.5, 0.5]: 1.9e-4 relative). About
// half of pow_pos's instructions.
constexpr float kLog2P0 = 1.4426440064f, kLog2P1 = -0.7214300873f, kLog2P2 = 0.4872256897f,
                kLog2P3 = -0.3683443189f, kLog2P4 = 0.1976814837f;
constexpr float kExp2P0 = 0.9999482342f, kExp2P1 = 0.6931272626f, kExp2P2 = 0.2422946312f,
                kExp2P3 = 0.0558755351f;

template <typename S>
inline typename S::V pow_pos_coarse(typename S::V x, typename S::V a) {
  using T = typename S::T;
  using V = typename S::V;
  V e, m;
  S::split_centered(x, &e, &m);
  const V t = S::sub(m, S::set1(T(1)));
  V p = S::fmadd(S::set1(T(kLog2P4)), t, S::set1(T(kLog2P3)));
  p = S::fmadd(p, t, S::set1(T(kLog2P2)));
  p = S::fmadd(p, t, S::set1(T(kLog2P1)));
  p = S::fmadd(p, t, S::set1(T(kLog2P0)));
  const V y = S::exp2_arg(S::fmadd(a, S::mul(t, p), S::mul(a, e)));
  const V k = S::round(y), f = S::sub(y, k);
  V q = S::fmadd(S::set1(T(kExp2P3)), f, S::set1(T(kExp2P2)));
  q = S::fmadd(q, f, S::set1(T(kExp2P1)));
  q = S::fmadd(q, f, S::set1(T(kExp2P0)));
  return S::scalef(q, k);
}

// x clamped to the smallest normal number from below (a NaN x becomes it too).
template <typename S>
inline typename S::V at_least_normal(typename S::V x) {
  return S::max(x, S::set1(MathConstants<typename S::T>::kSmallestNormal));
}

}  // namespace
}  // namespace simd
}  // namespace pyfastnn

#endif  // PYFASTNN_X86
