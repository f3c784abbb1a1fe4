#include "optim.hpp"

#include <omp.h>

#include <cmath>

#include "threads.hpp"

namespace pyfastnn {

namespace {
// Below this many parameters an update runs on one thread.
constexpr int64_t kParallelMinParams = 1 << 16;

int update_threads(int64_t n) { return n >= kParallelMinParams ? num_threads() : 1; }
}  // namespace

template <typename T>
void sgd_step(T* p, const T* g, T* velocity, int64_t n, T lr, T momentum) {
  if (momentum == T(0)) {
#pragma omp parallel for simd num_threads(update_threads(n)) schedule(static)
    for (int64_t i = 0; i < n; ++i) p[i] -= lr * g[i];
    return;
  }
#pragma omp parallel for simd num_threads(update_threads(n)) schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    velocity[i] = momentum * velocity[i] + g[i];
    p[i] -= lr * velocity[i];
  }
}

// The Adam update of elements [0, n): square root and division dominate, so
// it is compiled for AVX-512 and AVX2 as well (GCC function multiversioning
// picks one at load time; both are exact IEEE operations in every version).
template <typename T>
inline void adam_range(T* p, const T* g, T* m, T* v, int64_t n, T lr, T beta1, T beta2, T eps,
                       T c1, T c2) {
  for (int64_t i = 0; i < n; ++i) {
    m[i] = beta1 * m[i] + (T(1) - beta1) * g[i];
    v[i] = beta2 * v[i] + (T(1) - beta2) * g[i] * g[i];
    p[i] -= lr * (m[i] * c1) / (std::sqrt(v[i] * c2) + eps);
  }
}

#if defined(PYFASTNN_X86) && defined(__GNUC__) && !defined(__clang__)
#define PYFASTNN_SIMD_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define PYFASTNN_SIMD_CLONES
#endif

PYFASTNN_SIMD_CLONES void adam_range_f32(float* p, const float* g, float* m, float* v, int64_t n,
                                         float lr, float b1, float b2, float eps, float c1,
                                         float c2) {
  adam_range<float>(p, g, m, v, n, lr, b1, b2, eps, c1, c2);
}

PYFASTNN_SIMD_CLONES void adam_range_f64(double* p, const double* g, double* m, double* v,
                                         int64_t n, double lr, double b1, double b2, double eps,
                                         double c1, double c2) {
  adam_range<double>(p, g, m, v, n, lr, b1, b2, eps, c1, c2);
}

inline void adam_range_any(float* p, const float* g, float* m, float* v, int64_t n, float lr,
                           float b1, float b2, float eps, float c1, float c2) {
  adam_range_f32(p, g, m, v, n, lr, b1, b2, eps, c1, c2);
}
inline void adam_range_any(double* p, const double* g, double* m, double* v, int64_t n,
                           double lr, double b1, double b2, double eps, double c1, double c2) {
  adam_range_f64(p, g, m, v, n, lr, b1, b2, eps, c1, c2);
}

template <typename T>
void adam_step(T* p, const T* g, T* m, T* v, int64_t n, T lr, T beta1, T beta2, T eps,
               int64_t t) {
  const T c1 = T(1) / (T(1) - static_cast<T>(std::pow(double(beta1), double(t))));
  const T c2 = T(1) / (T(1) - static_cast<T>(std::pow(double(beta2), double(t))));
  const int threads = update_threads(n);
#pragma omp parallel num_threads(threads)
  {
    // one contiguous range per thread
    const int64_t parts = omp_get_num_threads(), id = omp_get_thread_num();
    const int64_t lo = n * id / parts, hi = n * (id + 1) / parts;
    adam_range_any(p + lo, g + lo, m + lo, v + lo, hi - lo, lr, beta1, beta2, eps, c1, c2);
  }
}

template <typename T>
void optimizer_step(const OptimizerSpec& spec, OptimizerState<T> state, T* p, const T* g,
                    int64_t n, int64_t t) {
  if (spec.kind == OptimizerSpec::Kind::adam)
    adam_step<T>(p, g, state.m, state.v, n, T(spec.lr), T(spec.beta1), T(spec.beta2),
                 T(spec.eps), t);
  else
    sgd_step<T>(p, g, state.velocity, n, T(spec.lr), T(spec.momentum));
}

template void optimizer_step<float>(const OptimizerSpec&, OptimizerState<float>, float*,
                                    const float*, int64_t, int64_t);
template void optimizer_step<double>(const OptimizerSpec&, OptimizerState<double>, double*,
                                     const double*, int64_t, int64_t);
template void sgd_step<float>(float*, const float*, float*, int64_t, float, float);
template void sgd_step<double>(double*, const double*, double*, int64_t, double, double);
template void adam_step<float>(float*, const float*, float*, float*, int64_t, float, float, float,
                               float, int64_t);
template void adam_step<double>(double*, const double*, double*, double*, int64_t, double, double,
                                double, double, int64_t);

}  // namespace pyfastnn
