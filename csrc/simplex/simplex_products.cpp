// Jacobian-vector and vector-Jacobian products of the simplex maps, from a
// forward result P. Per row: one pass of reductions over (p, v), one
// elementwise pass; so out may alias P or V exactly. See simplex.hpp for the
// Jacobians and docs/SPARSE_MAPS.md for their derivation.
//
// The support is S = {j : p_j > 0}; entries of v outside S are never used
// (selected away, not multiplied, so a NaN there cannot leak into the result).
#include <cmath>
#include <limits>

#include "runtime/kernel_registry.hpp"
#include "simplex/simplex.hpp"
#include "simplex/simplex_internal.hpp"
#include "simplex/simplex_rows.hpp"

namespace pyfastnn {

using namespace simplex_detail;

namespace {

// Reductions of one row: whether P has a NaN, |S|, sum_S v, sum_S p v, first argmax p.
template <typename T>
struct RowSums {
  bool nan = false;
  T count = 0;
  T sum_v = 0;
  T sum_pv = 0;
  int64_t argmax = 0;
};

template <typename T>
RowSums<T> row_sums(const T* p, const T* v, int64_t K, bool want_argmax) {
  RowSums<T> r;
  T best = p[0];
  for (int64_t k = 0; k < K; ++k) {
    const T pk = p[k];
    const bool in = pk > T(0);
    r.nan |= pk != pk;
    r.count += in ? T(1) : T(0);
    r.sum_v += in ? v[k] : T(0);
    r.sum_pv += in ? pk * v[k] : T(0);
    if (want_argmax && pk > best) {
      best = pk;
      r.argmax = k;
    }
  }
  return r;
}

// out_j = p_j (v_j - <p, v>) / T: softmax's J is symmetric, so this is also the VJP.
template <typename T>
void softmax_product_row(const T* p, const T* v, int64_t K, T inv_t, T* out) {
  const RowSums<T> r = row_sums(p, v, K, false);
  if (r.nan) return fill_nan(out, K);
  for (int64_t k = 0; k < K; ++k) out[k] = p[k] > T(0) ? p[k] * (v[k] - r.sum_pv) * inv_t : T(0);
}

// out_j = s_j (v_j - mean_S v) / T: sparsemax's J is symmetric.
template <typename T>
void sparsemax_product_row(const T* p, const T* v, int64_t K, T inv_t, T* out) {
  const RowSums<T> r = row_sums(p, v, K, false);
  if (r.nan) return fill_nan(out, K);
  const T mean = r.count > 0 ? r.sum_v / r.count : T(0);
  for (int64_t k = 0; k < K; ++k) out[k] = p[k] > T(0) ? (v[k] - mean) * inv_t : T(0);
}

// J v = s (w - p sum_S w) / D with w = v - v_m, D = b / p_m.
template <typename T>
void relumax_jvp_row(const T* p, const T* v, int64_t K, T b, T inv_t, T* out) {
  const RowSums<T> r = row_sums(p, v, K, true);
  if (r.nan) return fill_nan(out, K);
  const T vm = v[r.argmax];
  const T scale = p[r.argmax] / b * inv_t;  // 1 / (D T)
  const T sum_w = r.sum_v - r.count * vm;
  for (int64_t k = 0; k < K; ++k)
    out[k] = p[k] > T(0) ? (v[k] - vm - p[k] * sum_w) * scale : T(0);
}

// J^T g = r - e_m sum(r), r = s (g - <p, g>) / D.
template <typename T>
void relumax_vjp_row(const T* p, const T* g, int64_t K, T b, T inv_t, T* out) {
  const RowSums<T> r = row_sums(p, g, K, true);
  if (r.nan) return fill_nan(out, K);
  const int64_t m = r.argmax;
  const T scale = p[m] / b * inv_t;  // 1 / (D T)
  const T sum_r = (r.sum_v - r.count * r.sum_pv) * scale;
  for (int64_t k = 0; k < K; ++k) out[k] = p[k] > T(0) ? (g[k] - r.sum_pv) * scale : T(0);
  out[m] -= sum_r;
}

template <typename T>
void portable_product_rows(ProductKind kind, const T* P, const T* V, int64_t rows, int64_t K,
                           T b, T inv_t, T* out) {
  for (int64_t i = 0; i < rows; ++i) {
    const T* p = P + i * K;
    const T* v = V + i * K;
    T* o = out + i * K;
    switch (kind) {
      case ProductKind::softmax:
        softmax_product_row(p, v, K, inv_t, o);
        break;
      case ProductKind::sparsemax:
        sparsemax_product_row(p, v, K, inv_t, o);
        break;
      case ProductKind::relumax_jvp:
        relumax_jvp_row(p, v, K, b, inv_t, o);
        break;
      case ProductKind::relumax_vjp:
        relumax_vjp_row(p, v, K, b, inv_t, o);
        break;
    }
  }
}

template <typename T>
SimplexProductKernels<T> portable_products() {
  SimplexProductKernels<T> k;
  k.rows = portable_product_rows<T>;
  return k;
}

#ifdef PYFASTNN_X86
template <typename T>
SimplexProductKernels<T> avx2_products() {
  SimplexProductKernels<T> k;
  k.rows = avx2::product_rows;
  return k;
}

template <typename T>
SimplexProductKernels<T> avx512_products() {
  SimplexProductKernels<T> k = avx2_products<T>();  // long rows and softmax
  k.lanes = avx512::product_rows;
  return k;
}
#endif

const KernelTable<SimplexProductKernels<float>> product_kernels_f32(
    "simplex_products", "float32", portable_products<float>,
    PYFASTNN_X86_ONLY(avx2_products<float>), PYFASTNN_X86_ONLY(avx512_products<float>));
const KernelTable<SimplexProductKernels<double>> product_kernels_f64(
    "simplex_products", "float64", portable_products<double>,
    PYFASTNN_X86_ONLY(avx2_products<double>), PYFASTNN_X86_ONLY(avx512_products<double>));

template <typename T>
void product_block(ProductKind kind, const T* P, const T* V, int64_t rows, int64_t K, T b,
                   T inv_t, T* out) {
  const SimplexProductKernels<T>& k = table_for<T>(product_kernels_f32, product_kernels_f64);
  if (k.lanes != nullptr && kind != ProductKind::softmax && K <= kProductLaneRowsMaxK &&
      rows >= kLaneRowsMinRows)
    return k.lanes(kind, P, V, rows, K, b, inv_t, out);
  k.rows(kind, P, V, rows, K, b, inv_t, out);
}

template <typename T>
void products(ProductKind kind, const T* P, const T* V, int64_t n, int64_t K, T b, T inv_t,
              T* out) {
  for_row_blocks<T>(n, K, false, [&](int64_t r0, int64_t r1, T*) {
    product_block(kind, P + r0 * K, V + r0 * K, r1 - r0, K, b, inv_t, out + r0 * K);
  });
}

}  // namespace

template <typename T>
void softmax_jvp_from_output(const T* P, const T* V, int64_t n, int64_t K, T* out, T inv_t) {
  products(ProductKind::softmax, P, V, n, K, T(1), inv_t, out);
}

template <typename T>
void softmax_vjp_from_output(const T* P, const T* G, int64_t n, int64_t K, T* out, T inv_t) {
  products(ProductKind::softmax, P, G, n, K, T(1), inv_t, out);
}

template <typename T>
void sparsemax_jvp_from_output(const T* P, const T* V, int64_t n, int64_t K, T* out, T inv_t) {
  products(ProductKind::sparsemax, P, V, n, K, T(1), inv_t, out);
}

template <typename T>
void sparsemax_vjp_from_output(const T* P, const T* G, int64_t n, int64_t K, T* out, T inv_t) {
  products(ProductKind::sparsemax, P, G, n, K, T(1), inv_t, out);
}

template <typename T>
void relumax_jvp_from_output(const T* P, const T* V, int64_t n, int64_t K, T b, T* out,
                             T inv_t) {
  products(ProductKind::relumax_jvp, P, V, n, K, b, inv_t, out);
}

template <typename T>
void relumax_vjp_from_output(const T* P, const T* G, int64_t n, int64_t K, T b, T* out,
                             T inv_t) {
  products(ProductKind::relumax_vjp, P, G, n, K, b, inv_t, out);
}

#define PYFASTNN_INSTANTIATE(T)                                                               \
  template void softmax_jvp_from_output<T>(const T*, const T*, int64_t, int64_t, T*, T);      \
  template void softmax_vjp_from_output<T>(const T*, const T*, int64_t, int64_t, T*, T);      \
  template void sparsemax_jvp_from_output<T>(const T*, const T*, int64_t, int64_t, T*, T);    \
  template void sparsemax_vjp_from_output<T>(const T*, const T*, int64_t, int64_t, T*, T);    \
  template void relumax_jvp_from_output<T>(const T*, const T*, int64_t, int64_t, T, T*, T);   \
  template void relumax_vjp_from_output<T>(const T*, const T*, int64_t, int64_t, T, T*, T);
PYFASTNN_INSTANTIATE(float)
PYFASTNN_INSTANTIATE(double)
#undef PYFASTNN_INSTANTIATE

}  // namespace pyfastnn
