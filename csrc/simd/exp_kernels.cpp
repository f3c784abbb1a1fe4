// The softmax exp family (exp_kernels.hpp): its table and the portable kernel.
#include "simd/exp_kernels.hpp"

#include <cmath>

#include "runtime/kernel_registry.hpp"

namespace pyfastnn {

namespace {

template <typename T>
T portable_exp_minus_max(const T* z, int64_t n, T* p, T* max) {
  // (m in a register: std::max returns a reference, and GCC kept m on the
  // stack, a store and a load per element on the critical path)
  T m = z[0], s = 0;
  for (int64_t k = 1; k < n; ++k) m = m < z[k] ? z[k] : m;
  if (std::isnan(m)) m = z[0];  // the select skips a NaN; keep it so it propagates
  for (int64_t k = 0; k < n; ++k) {
    p[k] = std::exp(z[k] - m);
    s += p[k];
  }
  *max = m;
  return s;
}

template <typename T>
T portable_exp_shifted(const T* z, int64_t n, T m, T scale, T* p) {
  T s = 0;
  for (int64_t k = 0; k < n; ++k) {
    p[k] = std::exp((z[k] - m) * scale);
    s += p[k];
  }
  return s;
}

template <typename T>
SoftmaxExpKernels<T> portable_exp() {
  return {portable_exp_minus_max<T>, portable_exp_shifted<T>};
}

#ifdef PYFASTNN_X86
SoftmaxExpKernels<float> avx2_exp_f32() { return {exp_minus_max_f32_avx2, exp_shifted_f32_avx2}; }
SoftmaxExpKernels<double> avx2_exp_f64() {
  return {portable_exp_minus_max<double>, exp_shifted_f64_avx2};
}
SoftmaxExpKernels<float> avx512_exp_f32() {
  return {exp_minus_max_f32_avx512, exp_shifted_f32_avx512};
}
// The network's softmax keeps std::exp for double (its bits unchanged).
SoftmaxExpKernels<double> avx512_exp_f64() {
  return {portable_exp_minus_max<double>, exp_shifted_f64_avx512};
}
#endif

const KernelTable<SoftmaxExpKernels<float>> exp_kernels_f32("softmax_exp", "float32",
                                                            portable_exp<float>,
                                                            PYFASTNN_X86_ONLY(avx2_exp_f32),
                                                            PYFASTNN_X86_ONLY(avx512_exp_f32));
const KernelTable<SoftmaxExpKernels<double>> exp_kernels_f64("softmax_exp", "float64",
                                                             portable_exp<double>,
                                                             PYFASTNN_X86_ONLY(avx2_exp_f64),
                                                             PYFASTNN_X86_ONLY(avx512_exp_f64));

}  // namespace

template <typename T>
ExpMinusMax<T> active_exp_minus_max() {
  return table_for<T>(exp_kernels_f32, exp_kernels_f64).exp_minus_max;
}

template <typename T>
ExpShifted<T> active_exp_shifted() {
  return table_for<T>(exp_kernels_f32, exp_kernels_f64).exp_shifted;
}

template ExpMinusMax<float> active_exp_minus_max<float>();
template ExpMinusMax<double> active_exp_minus_max<double>();
template ExpShifted<float> active_exp_shifted<float>();
template ExpShifted<double> active_exp_shifted<double>();

}  // namespace pyfastnn
