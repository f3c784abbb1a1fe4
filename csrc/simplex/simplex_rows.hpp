// Row kernels of the simplex maps, shared by simplex.cpp (portable code, the
// parallel row driver, losses), simplex_avx2.cpp (AVX2/FMA row kernels) and
// simplex_lanes_avx512.cpp (AVX-512 kernels for short rows, one row per lane).
//
// Declarations and constants only: the ISA-specific files are compiled with -mavx2
// -mfma, and an inline function or template defined here and emitted there
// could be picked by the linker for the portable path too.
#pragma once

#include <cstdint>

namespace pyfastnn {
namespace simplex_detail {

// Sparsemax is computed on y = (z - max(z)) / T. Its threshold tau satisfies
// -1 <= tau < 0 (the largest entry alone would give p = 1 at tau = -1), so only
// entries with y > kCandidateFloor can be in the support.
constexpr double kCandidateFloor = -1.0;

// Pruning passes over the candidates before the threshold search falls back to
// sorting the survivors. Michelot's iteration takes 2-4 passes on Gaussian
// logits and about log2(#candidates) on rows with every entry a candidate (each
// pass then halves the set, so few survive to be sorted); the fallback bounds
// the worst case at O(K log K).
constexpr int kMaxPruningPasses = 8;

// Threshold of the candidates y[0, c) (values in (-1, 0], one of them 0):
// the tau with sum_i max(y_i - tau, 0) = 1. Reorders and overwrites y.
// Defined in simplex.cpp.
float threshold_of_candidates(float* y, int64_t c);
double threshold_of_candidates(double* y, int64_t c);

// Jacobian products of one row from the output p (simplex_products.cpp); softmax and
// sparsemax have symmetric Jacobians, so their JVP and VJP are one kernel.
enum class ProductKind : int { softmax = 0, sparsemax = 1, relumax_jvp = 2, relumax_vjp = 3 };

// The AVX-512 lane kernels (one row per vector lane) exist for 1 <= K <= these
// row lengths, one instance per K. The bounds are where they stop beating the
// AVX2 row kernels, whose fixed cost per row is by then amortised over K. Zen 4,
// 2 threads, 2^22 float32 entries (out of cache), ns per entry, lanes vs rows:
// K = 10 sparsemax 0.30 vs 1.0, relumax 0.22 vs 0.5; sparsemax still 0.40 vs
// 0.47 at K = 48 but slower at 64; relumax even at 26-40, slower at 48.
constexpr int kSparsemaxLaneRowsMaxK = 48;
constexpr int kRelumaxLaneRowsMaxK = 32;
// Sparsemax and relumax JVP / VJP: two input blocks to transpose, which no longer
// fit in the registers beyond one tile (at K = 32 the AVX2 row kernels are faster).
constexpr int kProductLaneRowsMaxK = 16;
// Calls on fewer rows use the row kernels (the lane kernels pad to a block of 16
// float / 8 double rows; the losses call the forward maps one row at a time).
constexpr int64_t kLaneRowsMinRows = 4;

// The simplex kernel families of one dtype (tables of runtime/kernel_registry.hpp,
// filled in simplex.cpp and simplex_products.cpp). `rows` serve any K and any
// number of rows; `lanes`, where the ISA has them (else null), serve rows with
// K <= the bounds above and at least kLaneRowsMinRows rows.
template <typename T>
struct SimplexMapKernels {
  using SparsemaxRows = void (*)(const T* Z, int64_t rows, int64_t K, T inv_t, T* P);
  using RelumaxRows = void (*)(const T* Z, int64_t rows, int64_t K, T b, T inv_t, T* P);
  SparsemaxRows sparsemax_rows = nullptr, sparsemax_lanes = nullptr;
  RelumaxRows relumax_rows = nullptr, relumax_lanes = nullptr;
};

template <typename T>
struct SimplexProductKernels {
  using ProductRows = void (*)(ProductKind kind, const T* P, const T* V, int64_t rows, int64_t K,
                               T b, T inv_t, T* out);
  ProductRows rows = nullptr;
  ProductRows lanes = nullptr;  // every kind but softmax
};

#ifdef PYFASTNN_X86
namespace avx512 {

// Z (rows, K) -> P (rows, K) for 1 <= K <= kSparsemaxLaneRowsMaxK (sparsemax) or
// kRelumaxLaneRowsMaxK (relumax), as sparsemax_forward / relumax_forward for one
// block of rows (simplex_lanes_avx512.cpp).
void sparsemax_rows(const float* Z, int64_t rows, int64_t K, float inv_t, float* P);
void sparsemax_rows(const double* Z, int64_t rows, int64_t K, double inv_t, double* P);
void relumax_rows(const float* Z, int64_t rows, int64_t K, float b, float inv_t, float* P);
void relumax_rows(const double* Z, int64_t rows, int64_t K, double b, double inv_t, double* P);

// As avx2::product_rows for 1 <= K <= kProductLaneRowsMaxK and every kind but softmax
// (simplex_lanes_products_avx512.cpp).
void product_rows(ProductKind kind, const float* P, const float* V, int64_t rows, int64_t K,
                  float b, float inv_t, float* out);
void product_rows(ProductKind kind, const double* P, const double* V, int64_t rows, int64_t K,
                  double b, double inv_t, double* out);

}  // namespace avx512

namespace avx2 {

// out (rows, K) = product of kind `kind` row by row; see simplex_products.cpp.
void product_rows(ProductKind kind, const float* P, const float* V, int64_t rows, int64_t K,
                  float b, float inv_t, float* out);
void product_rows(ProductKind kind, const double* P, const double* V, int64_t rows, int64_t K,
                  double b, double inv_t, double* out);

// Z (rows, K) -> P (rows, K), as sparsemax_forward / relumax_forward for one
// block of rows (no threading here).
void sparsemax_rows(const float* Z, int64_t rows, int64_t K, float inv_t, float* P);
void sparsemax_rows(const double* Z, int64_t rows, int64_t K, double inv_t, double* P);
void relumax_rows(const float* Z, int64_t rows, int64_t K, float b, float inv_t, float* P);
void relumax_rows(const double* Z, int64_t rows, int64_t K, double b, double inv_t, double* P);

}  // namespace avx2
#endif

}  // namespace simplex_detail
}  // namespace pyfastnn
