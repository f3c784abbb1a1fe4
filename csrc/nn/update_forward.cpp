#include "nn/update_forward.hpp"

#include "runtime/cpu.hpp"

namespace pyfastnn {

namespace {

// Rows of W stepped per pass over z: z is loaded and stored once for this
// many rows (one store per vector of z per block, the rest stay in registers).
constexpr int64_t kRowBlock = 4;

template <typename T>
using Kind = typename UpdateRule<T>::Kind;

// Rows [i, i + R) of W on columns [j0, j1): step them and, if Forward, add
// their terms x[i + r] W[i + r, :] to z.
template <typename T, Kind<T> K, bool Penalised, bool Forward, int R>
PYFASTNN_INLINE_INTO_CLONES inline void step_rows(const DeferredStep<T>& st, T* W, T* s1, T* s2,
                                                  int64_t out, const T* x, T* z, int64_t i,
                                                  int64_t j0, int64_t j1) {
  T hp[R], xr[R];
  T* w[R];
  T* a[R];
  T* b[R];
  for (int r = 0; r < R; ++r) {
    hp[r] = st.h[i + r];
    xr[r] = Forward ? x[i + r] : T(0);
    w[r] = W + (i + r) * out;
    a[r] = K == Kind<T>::sgd ? nullptr : s1 + (i + r) * out;
    b[r] = K == Kind<T>::adam ? s2 + (i + r) * out : nullptr;
  }
  const T* dz = st.dz;
#pragma GCC ivdep
  for (int64_t j = j0; j < j1; ++j) {
    const T d = dz[j];
    T acc = Forward ? z[j] : T(0);
    for (int r = 0; r < R; ++r) {
      const T p = w[r][j];
      T g = hp[r] * d;
      if (Penalised) g += penalty_grad(p, st.l1, st.l2);
      T stepped;
      if constexpr (K == Kind<T>::sgd) {
        stepped = sgd_step(st.rule, p, g);
      } else if constexpr (K == Kind<T>::momentum) {
        T velocity = a[r][j];
        stepped = momentum_step(st.rule, p, g, velocity);
        a[r][j] = velocity;
      } else {
        T m = a[r][j], v = b[r][j];
        stepped = adam_step(st.rule, p, g, m, v);
        a[r][j] = m;
        b[r][j] = v;
      }
      w[r][j] = stepped;
      if (Forward) acc += xr[r] * stepped;
    }
    if (Forward) z[j] = acc;
  }
}

template <typename T, Kind<T> K, bool Penalised, bool Forward>
PYFASTNN_INLINE_INTO_CLONES inline void step_all_rows(const DeferredStep<T>& st, T* W, T* s1,
                                                      T* s2, int64_t in, int64_t out,
                                                      const T* x, T* z, int64_t j0, int64_t j1) {
  if (Forward)
    for (int64_t j = j0; j < j1; ++j) z[j] = T(0);
  int64_t i = 0;
  for (; i + kRowBlock <= in; i += kRowBlock)
    step_rows<T, K, Penalised, Forward, kRowBlock>(st, W, s1, s2, out, x, z, i, j0, j1);
  for (; i < in; ++i) step_rows<T, K, Penalised, Forward, 1>(st, W, s1, s2, out, x, z, i, j0, j1);
}

template <typename T, Kind<T> K>
PYFASTNN_INLINE_INTO_CLONES inline void step_all_rows(const DeferredStep<T>& st, T* W, T* s1,
                                                      T* s2, int64_t in, int64_t out,
                                                      const T* x, T* z, int64_t j0, int64_t j1) {
  const bool penalised = st.l1 != T(0) || st.l2 != T(0);
  if (penalised && x != nullptr)
    step_all_rows<T, K, true, true>(st, W, s1, s2, in, out, x, z, j0, j1);
  else if (penalised)
    step_all_rows<T, K, true, false>(st, W, s1, s2, in, out, x, z, j0, j1);
  else if (x != nullptr)
    step_all_rows<T, K, false, true>(st, W, s1, s2, in, out, x, z, j0, j1);
  else
    step_all_rows<T, K, false, false>(st, W, s1, s2, in, out, x, z, j0, j1);
}

template <typename T>
PYFASTNN_INLINE_INTO_CLONES inline void update_rows_forward_impl(const DeferredStep<T>& st, T* W,
                                                                 T* s1, T* s2, int64_t in,
                                                                 int64_t out, const T* x, T* z,
                                                                 int64_t j0, int64_t j1) {
  switch (st.rule.kind) {
    case Kind<T>::sgd:
      step_all_rows<T, Kind<T>::sgd>(st, W, s1, s2, in, out, x, z, j0, j1);
      break;
    case Kind<T>::momentum:
      step_all_rows<T, Kind<T>::momentum>(st, W, s1, s2, in, out, x, z, j0, j1);
      break;
    case Kind<T>::adam:
      step_all_rows<T, Kind<T>::adam>(st, W, s1, s2, in, out, x, z, j0, j1);
      break;
  }
}

}  // namespace

PYFASTNN_SIMD_CLONES void update_rows_forward(const DeferredStep<float>& step, float* W,
                                              float* s1, float* s2, int64_t in, int64_t out,
                                              const float* x, float* z, int64_t j0, int64_t j1) {
  update_rows_forward_impl(step, W, s1, s2, in, out, x, z, j0, j1);
}

PYFASTNN_SIMD_CLONES void update_rows_forward(const DeferredStep<double>& step, double* W,
                                              double* s1, double* s2, int64_t in, int64_t out,
                                              const double* x, double* z, int64_t j0,
                                              int64_t j1) {
  update_rows_forward_impl(step, W, s1, s2, in, out, x, z, j0, j1);
}

}  // namespace pyfastnn
