// entmax15 and alpha-entmax: forward maps, Jacobian products, Fenchel-Young
// losses. See simplex.hpp for the API and conventions, docs/SPARSE_MAPS.md for
// the algorithm.
//
// Shapes: Z, P, V, G, out, dZ are row-major (n, K); y, loss_rows are (n).
//
// alpha-entmax (Peters, Niculae & Martins 2019; Blondel, Martins & Niculae 2020):
//   p = [y - tau]_+^e,  y = (alpha - 1) (z - max z) / T,  e = 1 / (alpha - 1),
//   tau the unique number with sum_i [y_i - tau]_+^e = 1. The largest entry is 0
//   and alone reaches 1 at tau = -1, so tau in [-1, 0) and only the candidates
//   y_i > -1 can be in the support (as for sparsemax, which is alpha = 2).
//
// Threshold search without sorting the row: Newton's method on
//   G(tau) = (sum_i [y_i - tau]_+^e)^(1/e) - 1,
// an e-norm of the convex functions [y_i - tau]_+, hence convex and decreasing for
// e >= 1 (alpha <= 2): from tau = -1 (below the root) the iterates rise
// monotonically to tau without overshooting. With F = sum d^e, S = sum d^(e-1)
// (d = y - tau > 0) the step is (F - F^(1 - 1/e)) / S; for alpha = 2 it is
// Michelot's iteration, for alpha = 1.5 it is (F - sqrt F) / sum d. For e = 1 and
// e = 2 each pass is one vectorised sweep of the row (in cache); for other alpha
// (a pow per entry) the candidates y > -1 are gathered once and the entries at or
// below the current lower bound are dropped at each pass. For alpha > 2 G is not
// convex: the step is safeguarded by a bracket [lo, hi] and bisection (as in
// Numerical Recipes' rtsafe) whenever it leaves the bracket or the bracket stops
// shrinking. The row is finally normalised to sum 1.
//
// entmax15 (alpha = 1.5) is exact: once the set {y > tau} is the support, tau is
// the closed form of Peters et al. (2019), mean - sqrt((1 - ss) / k), and a pass
// accepts it when it is <= every entry of the set (then no entry outside can enter
// either, so it is the threshold); the Newton passes only find the set (2.5 passes
// on average for Gaussian rows of K = 26, 3.8 at K = 1000, 4.7 at K = 30000). If
// kMaxEntmaxNewtonPasses passes do not settle it, the candidates are sorted and
// scanned (the sort-based algorithm): O(K) typical, O(K log K) worst.
//
// The row kernels are in kernels/entmax_template.hpp (one copy per ISA).
#include <algorithm>
#include <cmath>
#include <limits>

#include "runtime/kernel_registry.hpp"
#include "simplex/kernels/entmax_kernels.hpp"
#include "simplex/simplex.hpp"
#include "simplex/simplex_internal.hpp"

namespace pyfastnn {

using namespace simplex_detail;
using entmax_detail::EntmaxKernels;

namespace {

const KernelTable<EntmaxKernels<float>> entmax_kernels_f32(
    "simplex_entmax", "float32", entmax_detail::portable::kernels_f32,
    PYFASTNN_X86_ONLY(entmax_detail::avx2::kernels_f32),
    PYFASTNN_X86_ONLY(entmax_detail::avx512::kernels_f32));
const KernelTable<EntmaxKernels<double>> entmax_kernels_f64(
    "simplex_entmax", "float64", entmax_detail::portable::kernels_f64,
    PYFASTNN_X86_ONLY(entmax_detail::avx2::kernels_f64),
    PYFASTNN_X86_ONLY(entmax_detail::avx512::kernels_f64));

template <typename T>
const EntmaxKernels<T>& kernels() {
  return table_for<T>(entmax_kernels_f32, entmax_kernels_f64);
}

// Short rows (and enough of them) go to the lane kernels where the ISA has them.
inline bool lanes_serve(const void* lanes, int64_t rows, int64_t K) {
  return lanes != nullptr && K <= entmax_detail::kEntmaxLaneRowsMaxK &&
         rows >= entmax_detail::kEntmaxLaneRowsMinRows;
}

template <typename T>
void entmax15_block(const T* Z, int64_t rows, int64_t K, T inv_t, T* P) {
  const EntmaxKernels<T>& k = kernels<T>();
  if (lanes_serve(reinterpret_cast<const void*>(k.entmax15_lanes), rows, K))
    return k.entmax15_lanes(Z, rows, K, inv_t, P);
  k.entmax15_rows(Z, rows, K, inv_t, P);
}

template <typename T>
void entmax_bisect_block(const T* Z, int64_t rows, int64_t K, T alpha, T inv_t, T* P) {
  const EntmaxKernels<T>& k = kernels<T>();
  if (alpha <= T(2) && lanes_serve(reinterpret_cast<const void*>(k.bisect_lanes), rows, K))
    return k.bisect_lanes(Z, rows, K, alpha, inv_t, P);
  k.bisect_rows(Z, rows, K, alpha, inv_t, P);
}

template <typename T>
void entmax_product_block(const T* P, const T* V, int64_t rows, int64_t K, T alpha, T inv_t,
                          T* out) {
  const EntmaxKernels<T>& k = kernels<T>();
  if (lanes_serve(reinterpret_cast<const void*>(k.product_lanes), rows, K))
    return k.product_lanes(P, V, rows, K, alpha, inv_t, out);
  k.product_rows(P, V, rows, K, alpha, inv_t, out);
}

// J V / T at alpha-entmax(Z / T) for a block of rows: the fused lane kernel where it
// serves (a pow per entry: alpha < 2, not 1.5), else the map into out, then the
// product in place.
template <typename T>
void entmax_bisect_product_block(const T* Z, const T* V, int64_t rows, int64_t K, T alpha,
                                 T inv_t, T* out) {
  const EntmaxKernels<T>& k = kernels<T>();
  if (alpha < T(2) && alpha != T(1.5) &&
      lanes_serve(reinterpret_cast<const void*>(k.bisect_product_lanes), rows, K))
    return k.bisect_product_lanes(Z, V, rows, K, alpha, inv_t, out);
  entmax_bisect_block(Z, rows, K, alpha, inv_t, out);
  entmax_product_block(out, V, rows, K, alpha, inv_t, out);
}

// Tsallis entropy term of the loss: (1 - sum p^alpha) / (alpha (alpha - 1)).
template <typename T>
double tsallis(const T* p, int64_t K, T alpha) {
  double sum = 0;
  for (int64_t k = 0; k < K; ++k) {
    if (!(p[k] > T(0))) continue;
    const double pk = p[k];
    sum += alpha == T(1.5) ? pk * std::sqrt(pk) : alpha == T(2) ? pk * pk : std::pow(pk, double(alpha));
  }
  const double a = double(alpha);
  return (1.0 - sum) / (a * (a - 1.0));
}

}  // namespace

template <typename T>
void entmax15_forward(const T* Z, int64_t n, int64_t K, T* P, T inv_temperature) {
  for_row_blocks<T>(n, K, false, [&](int64_t r0, int64_t r1, T*) {
    entmax15_block(Z + r0 * K, r1 - r0, K, inv_temperature, P + r0 * K);
  });
}

template <typename T>
void entmax_bisect_forward(const T* Z, int64_t n, int64_t K, T alpha, T* P, T inv_temperature) {
  for_row_blocks<T>(n, K, false, [&](int64_t r0, int64_t r1, T*) {
    entmax_bisect_block(Z + r0 * K, r1 - r0, K, alpha, inv_temperature, P + r0 * K);
  });
}

template <typename T>
void entmax_product_from_output(const T* P, const T* V, int64_t n, int64_t K, T alpha, T* out,
                                T inv_temperature) {
  for_row_blocks<T>(n, K, false, [&](int64_t r0, int64_t r1, T*) {
    entmax_product_block(P + r0 * K, V + r0 * K, r1 - r0, K, alpha, inv_temperature,
                         out + r0 * K);
  });
}

template <typename T>
void entmax_bisect_product_from_input(const T* Z, const T* V, int64_t n, int64_t K, T alpha,
                                      T* out, T inv_temperature) {
  for_row_blocks<T>(n, K, false, [&](int64_t r0, int64_t r1, T*) {
    entmax_bisect_product_block(Z + r0 * K, V + r0 * K, r1 - r0, K, alpha, inv_temperature,
                                out + r0 * K);
  });
}

// loss = sum_{j in S} p_j (z_j - z_y) / T + (1 - sum p^alpha) / (alpha (alpha - 1)),
// which is <p, z/T> + H_alpha(p) - z_y / T since sum p = 1 (no shift by max z needed);
// grad = scale (p - e_y) / T, written over p in place.
template <typename T>
double entmax_loss(bool exact15, const T* Z, const int64_t* y, int64_t n, int64_t K, T alpha,
                   T* loss_rows, T* dZ, T scale, T inv_t) {
  return sum_over_row_blocks<T>(n, K, dZ == nullptr, [&](int64_t r0, int64_t r1, T* scratch) {
    double total = 0;
    for (int64_t i = r0; i < r1; ++i) {
      const T* z = Z + i * K;
      T* p = dZ ? dZ + i * K : scratch;
      if (exact15)
        entmax15_block(z, 1, K, inv_t, p);
      else
        entmax_bisect_block(z, 1, K, alpha, inv_t, p);
      double loss;
      if (std::isnan(p[0])) {
        loss = std::numeric_limits<double>::quiet_NaN();
        if (dZ) fill_nan(p, K);
      } else {
        const double zy = z[y[i]];
        loss = tsallis(p, K, alpha);
        for (int64_t k = 0; k < K; ++k)
          if (p[k] > T(0)) loss += double(p[k]) * (double(z[k]) - zy) * double(inv_t);
        if (dZ) {
          const T g = scale * inv_t;
          for (int64_t k = 0; k < K; ++k) p[k] = g * (p[k] - (k == y[i] ? T(1) : T(0)));
        }
      }
      if (loss_rows) loss_rows[i] = T(loss);
      total += loss;
    }
    return total;
  });
}

template <typename T>
double entmax15_loss(const T* Z, const int64_t* y, int64_t n, int64_t K, T* loss_rows, T* dZ,
                     T scale, T inv_temperature) {
  return entmax_loss(true, Z, y, n, K, T(1.5), loss_rows, dZ, scale, inv_temperature);
}

template <typename T>
double entmax_bisect_loss(const T* Z, const int64_t* y, int64_t n, int64_t K, T alpha,
                          T* loss_rows, T* dZ, T scale, T inv_temperature) {
  return entmax_loss(false, Z, y, n, K, alpha, loss_rows, dZ, scale, inv_temperature);
}

#define PYFASTNN_INSTANTIATE(T)                                                                \
  template void entmax15_forward<T>(const T*, int64_t, int64_t, T*, T);                        \
  template void entmax_bisect_forward<T>(const T*, int64_t, int64_t, T, T*, T);                \
  template void entmax_product_from_output<T>(const T*, const T*, int64_t, int64_t, T, T*, T); \
  template void entmax_bisect_product_from_input<T>(const T*, const T*, int64_t, int64_t, T, T*, \
                                                    T);                                          \
  template double entmax15_loss<T>(const T*, const int64_t*, int64_t, int64_t, T*, T*, T, T);   \
  template double entmax_bisect_loss<T>(const T*, const int64_t*, int64_t, int64_t, T, T*, T*, \
                                        T, T);
PYFASTNN_INSTANTIATE(float)
PYFASTNN_INSTANTIATE(double)
#undef PYFASTNN_INSTANTIATE

}  // namespace pyfastnn
