// Probability maps onto the simplex -- softmax, sparsemax, relumax_b, entmax -- with
// their Jacobian products and losses, on batches of rows.
//
// Every array is row-major (n, K): row i is the logits (or outputs, or
// directions) of sample i. Templates are instantiated for float and double.
// Rows go to up to num_threads() threads in chunks (the pieces of one parallel
// job); a call allocates one double per chunk (for ordered sums) and, in the
// functions that say so, one scratch row per chunk. AVX2/FMA kernels run when the ISA chosen is
// avx2 or avx512 (runtime/kernel_registry.hpp). Output arrays must not overlap
// the inputs, except where noted.
//
// All maps act on z / T for a temperature T > 0, passed as inv_temperature =
// 1/T (default 1), and the Jacobian products are those of z -> map(z / T).
//
//   softmax(z)_i     = exp(z_i) / sum_j exp(z_j)
//   sparsemax(z)     = argmin_{p in simplex} |p - z|^2 = max(z - tau(z), 0),
//                      tau(z) the threshold with sum_i max(z_i - tau, 0) = 1
//                      (Martins & Astudillo 2016)
//   relumax_b(z)_i   = relu(z_i - max(z) + b) / sum_j relu(z_j - max(z) + b), b > 0
//
// Jacobians (S = support = {i : p_i > 0}, s its indicator, m = first index of
// max(p), D = sum_j relu(z_j - max(z) + b) = b / p_m; see docs/SPARSE_MAPS.md):
//
//   softmax     J = diag(p) - p p^T                                  (symmetric)
//   sparsemax   J = diag(s) - s s^T / |S|                            (symmetric)
//   relumax_b   J = (diag(s) - p s^T - s e_m^T + |S| p e_m^T) / D    (J 1 = 0)
//
// Conventions: a row with a NaN, a +inf, or only -inf entries gives a row of
// NaN (outputs, products, gradients and loss). -inf entries are classes with
// probability 0. Products ignore the entries of V / G outside the support
// (they meet structural zeros of J). At a tie for the max, relumax uses the
// first maximal index (the derivative of the branch where that entry is
// largest); at a support boundary (p_i = 0 exactly) i is outside the support.
#pragma once

#include <cstdint>

namespace pyfastnn {

// ---- forward maps ------------------------------------------------------------
// Z (n, K) -> P (n, K); P must not overlap Z (sparsemax uses P as scratch).

template <typename T>
void softmax_forward(const T* Z, int64_t n, int64_t K, T* P, T inv_temperature = T(1));

// Expected O(K) per row: the row max bounds the threshold to [max - T, max), so
// only entries above max - T are candidates; tau is found among them by
// Michelot's / Condat's pruning iteration (no sort of the row).
template <typename T>
void sparsemax_forward(const T* Z, int64_t n, int64_t K, T* P, T inv_temperature = T(1));

// b > 0, in units of z / T.
template <typename T>
void relumax_forward(const T* Z, int64_t n, int64_t K, T b, T* P, T inv_temperature = T(1));

// Z (n, K) -> tau (n): sparsemax(z / T) = max(z / T - tau, 0). One scratch row per thread.
template <typename T>
void sparsemax_threshold(const T* Z, int64_t n, int64_t K, T* tau, T inv_temperature = T(1));

// ---- Jacobian products from a forward result ------------------------------
// P (n, K) = map(Z / T) as computed above, V or G (n, K) -> out (n, K):
//   *_jvp_from_output: out_i = J(z_i / T) v_i / T        (directional derivative)
//   *_vjp_from_output: out_i = J(z_i / T)^T g_i / T      (backpropagation)
// out may be the same array as P or as V / G (exact aliasing), not a partial overlap.

template <typename T>
void softmax_jvp_from_output(const T* P, const T* V, int64_t n, int64_t K, T* out,
                             T inv_temperature = T(1));
template <typename T>
void softmax_vjp_from_output(const T* P, const T* G, int64_t n, int64_t K, T* out,
                             T inv_temperature = T(1));

template <typename T>
void sparsemax_jvp_from_output(const T* P, const T* V, int64_t n, int64_t K, T* out,
                               T inv_temperature = T(1));
template <typename T>
void sparsemax_vjp_from_output(const T* P, const T* G, int64_t n, int64_t K, T* out,
                               T inv_temperature = T(1));

// b must be the b of the forward call: D = b / max(p) and m = argmax(p) come from P.
template <typename T>
void relumax_jvp_from_output(const T* P, const T* V, int64_t n, int64_t K, T b, T* out,
                             T inv_temperature = T(1));
template <typename T>
void relumax_vjp_from_output(const T* P, const T* G, int64_t n, int64_t K, T b, T* out,
                             T inv_temperature = T(1));

// ---- losses --------------------------------------------------------------------
// Z (n, K) logits, y (n) labels in [0, K) (not checked here). Returns the sum over
// rows of loss_i (as double); writes loss_rows (n) and dZ (n, K) = scale * d loss_i / dz_i
// when they are not null. One scratch row per thread when dZ is null.

// Codes shared with pyfastnn/simplex.py.
enum class SparseMap : int { softmax = 0, sparsemax = 1, relumax = 2 };
constexpr int kNumSparseMaps = 3;

// Sparsemax loss (Martins & Astudillo 2016), a Fenchel-Young loss:
//   loss = <p, z> - |p|^2 / 2 + 1/2 - z_y  (= -z_y + sum_{j in S} (z_j^2 - tau^2) / 2 + 1/2),
//   grad = p - e_y,  with z the row of Z / T (grad divided by T).
template <typename T>
double sparsemax_loss(const T* Z, const int64_t* y, int64_t n, int64_t K, T* loss_rows, T* dZ,
                      T scale, T inv_temperature = T(1));

// Epsilon-smoothed cross-entropy of a map's output p = map(z / T), eps > 0:
//   loss = -log((p_y + eps) / (1 + K eps)),  grad = J^T g / T with g = -e_y / (p_y + eps).
// b is used by relumax only.
template <typename T>
double smoothed_cross_entropy(SparseMap map, const T* Z, const int64_t* y, int64_t n, int64_t K,
                              T b, T eps, T* loss_rows, T* dZ, T scale,
                              T inv_temperature = T(1));

// ---- entmax15 and alpha-entmax (entmax.cpp) ---------------------------------------
// alpha-entmax(z) = argmax_{p in simplex} <p, z> + (1 - sum p^alpha) / (alpha (alpha - 1))
//                 = [(alpha - 1) z - tau]_+^(1 / (alpha - 1)),  alpha > 1, tau(z) the
// threshold that makes the sum 1 (Peters, Niculae & Martins 2019). alpha = 2 is
// sparsemax, alpha -> 1 tends to softmax. On the support, with s = p^(2 - alpha):
//   J = diag(s) - s s^T / sum(s)                                       (symmetric)

// Z (n, K) -> P (n, K), alpha = 1.5, threshold exact (closed form on the support,
// found without sorting the row; see entmax.cpp). P must not overlap Z.
template <typename T>
void entmax15_forward(const T* Z, int64_t n, int64_t K, T* P, T inv_temperature = T(1));

// Z (n, K) -> P (n, K) for any alpha > 1 (not checked here): threshold by safeguarded
// Newton / bisection to rounding, then P normalised to sum 1. P must not overlap Z.
template <typename T>
void entmax_bisect_forward(const T* Z, int64_t n, int64_t K, T alpha, T* P,
                           T inv_temperature = T(1));

// P (n, K) = alpha-entmax(Z / T), V (n, K) -> out (n, K) = J V / T = J^T V / T.
// out may be the same array as P or V.
template <typename T>
void entmax_product_from_output(const T* P, const T* V, int64_t n, int64_t K, T alpha, T* out,
                                T inv_temperature = T(1));

// Z, V (n, K) -> out (n, K) = J V / T = J^T V / T at P = alpha-entmax(Z / T), in one
// pass over each block where a fused kernel serves (P is never stored), else the map
// then the product. out overlaps neither Z nor V.
template <typename T>
void entmax_bisect_product_from_input(const T* Z, const T* V, int64_t n, int64_t K, T alpha,
                                      T* out, T inv_temperature = T(1));

// Fenchel-Young losses of entmax15 / alpha-entmax, as sparsemax_loss:
//   loss = <p, z> + (1 - sum p^alpha) / (alpha (alpha - 1)) - z_y,  grad = p - e_y,
// z the row of Z / T (grad divided by T). Returns the sum of the loss_rows.
template <typename T>
double entmax15_loss(const T* Z, const int64_t* y, int64_t n, int64_t K, T* loss_rows, T* dZ,
                     T scale, T inv_temperature = T(1));
template <typename T>
double entmax_bisect_loss(const T* Z, const int64_t* y, int64_t n, int64_t K, T alpha,
                          T* loss_rows, T* dZ, T scale, T inv_temperature = T(1));

}  // namespace pyfastnn
