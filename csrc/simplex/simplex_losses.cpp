// Losses on the simplex maps: the sparsemax loss of Martins & Astudillo (2016)
// and the epsilon-smoothed cross-entropy of a sparse output. Per row: the
// forward map into the gradient row (or a scratch row), the loss, then the
// gradient written over the probabilities in place. See simplex.hpp.
#include <cmath>
#include <limits>

#include "simplex/simplex.hpp"
#include "simplex/simplex_internal.hpp"

namespace pyfastnn {

using namespace simplex_detail;

namespace {

template <typename T>
void map_row(SparseMap map, const T* z, int64_t K, T b, T inv_t, T* p) {
  switch (map) {
    case SparseMap::softmax:
      return softmax_block(z, 1, K, inv_t, p);
    case SparseMap::sparsemax:
      return sparsemax_block(z, 1, K, inv_t, p);
    case SparseMap::relumax:
      return relumax_block(z, 1, K, b, inv_t, p);
  }
}

// loss = sum_{j in S} p_j (z_j - z_y) / T - |p|^2 / 2 + 1/2, which equals
// <p, z/T> - |p|^2/2 + 1/2 - z_y/T because sum p = 1, and needs no shift by max(z).
template <typename T>
double sparsemax_loss_row(const T* z, int64_t y, int64_t K, T inv_t, T* p, T* grad, T scale) {
  sparsemax_block(z, 1, K, inv_t, p);
  if (std::isnan(p[0])) {
    if (grad) fill_nan(grad, K);
    return std::numeric_limits<double>::quiet_NaN();
  }
  const double zy = z[y];
  double loss = 0.5;
  for (int64_t k = 0; k < K; ++k)
    if (p[k] > T(0)) loss += double(p[k]) * ((double(z[k]) - zy) * inv_t - 0.5 * double(p[k]));
  if (grad) {
    const T g = scale * inv_t;
    for (int64_t k = 0; k < K; ++k) grad[k] = g * (p[k] - (k == y ? T(1) : T(0)));
  }
  return loss;
}

// Writes scale * J^T g / T for g = -e_y / (p_y + eps), over p in place (grad == p allowed).
template <typename T>
void smoothed_ce_grad_row(SparseMap map, const T* p, int64_t y, int64_t K, T b, T eps, T inv_t,
                          T scale, T* grad) {
  const T py = p[y];
  const T c = -scale * inv_t / (py + eps);
  switch (map) {
    case SparseMap::softmax:  // c p_j (delta_jy - p_y)
      for (int64_t k = 0; k < K; ++k) grad[k] = c * p[k] * ((k == y ? T(1) : T(0)) - py);
      return;
    case SparseMap::sparsemax: {  // c s_j (delta_jy - [y in S] / |S|)
      T count = 0;
      for (int64_t k = 0; k < K; ++k) count += p[k] > T(0) ? T(1) : T(0);
      const T share = py > T(0) ? T(1) / count : T(0);
      for (int64_t k = 0; k < K; ++k)
        grad[k] = p[k] > T(0) ? c * ((k == y ? T(1) : T(0)) - share) : T(0);
      return;
    }
    case SparseMap::relumax: {  // r_j = c s_j (delta_jy - p_y) / D; r_m -= sum(r)
      T count = 0, best = p[0];
      int64_t m = 0;
      for (int64_t k = 0; k < K; ++k) {
        count += p[k] > T(0) ? T(1) : T(0);
        if (p[k] > best) best = p[k], m = k;
      }
      const T cd = c * best / b;  // c / D
      const T sum_r = cd * ((py > T(0) ? T(1) : T(0)) - count * py);
      for (int64_t k = 0; k < K; ++k)
        grad[k] = p[k] > T(0) ? cd * ((k == y ? T(1) : T(0)) - py) : T(0);
      grad[m] -= sum_r;
      return;
    }
  }
}

}  // namespace

template <typename T>
double sparsemax_loss(const T* Z, const int64_t* y, int64_t n, int64_t K, T* loss_rows, T* dZ,
                      T scale, T inv_t) {
  return sum_over_row_blocks<T>(n, K, dZ == nullptr, [&](int64_t r0, int64_t r1, T* scratch) {
    double total = 0;
    for (int64_t i = r0; i < r1; ++i) {
      T* p = dZ ? dZ + i * K : scratch;
      const double loss =
          sparsemax_loss_row(Z + i * K, y[i], K, inv_t, p, dZ ? p : nullptr, scale);
      if (loss_rows) loss_rows[i] = T(loss);
      total += loss;
    }
    return total;
  });
}

template <typename T>
double smoothed_cross_entropy(SparseMap map, const T* Z, const int64_t* y, int64_t n, int64_t K,
                              T b, T eps, T* loss_rows, T* dZ, T scale, T inv_t) {
  const double log_norm = std::log1p(double(K) * double(eps));
  return sum_over_row_blocks<T>(n, K, dZ == nullptr, [&](int64_t r0, int64_t r1, T* scratch) {
    double total = 0;
    for (int64_t i = r0; i < r1; ++i) {
      T* p = dZ ? dZ + i * K : scratch;
      map_row(map, Z + i * K, K, b, inv_t, p);
      double loss;
      if (std::isnan(p[0])) {
        loss = std::numeric_limits<double>::quiet_NaN();
        if (dZ) fill_nan(p, K);
      } else {
        loss = log_norm - std::log(double(p[y[i]]) + double(eps));
        if (dZ) smoothed_ce_grad_row(map, p, y[i], K, b, eps, inv_t, scale, p);
      }
      if (loss_rows) loss_rows[i] = T(loss);
      total += loss;
    }
    return total;
  });
}

#define PYFASTNN_INSTANTIATE(T)                                                               \
  template double sparsemax_loss<T>(const T*, const int64_t*, int64_t, int64_t, T*, T*, T, T); \
  template double smoothed_cross_entropy<T>(SparseMap, const T*, const int64_t*, int64_t,      \
                                            int64_t, T, T, T*, T*, T, T);
PYFASTNN_INSTANTIATE(float)
PYFASTNN_INSTANTIATE(double)
#undef PYFASTNN_INSTANTIATE

}  // namespace pyfastnn
