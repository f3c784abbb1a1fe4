// The entmax kernel family (entmax15, alpha-entmax): row kernels of the forward
// maps and of the Jacobian product, one table per ISA and dtype
// (runtime/kernel_registry.hpp; registered in simplex/entmax.cpp).
//
// Each ISA's table comes from one template source, entmax_template.hpp, compiled
// by entmax_portable.cpp, entmax_avx2.cpp and entmax_avx512.cpp (flags from the
// file name, CMakeLists.txt): its loops are written for the compiler to vectorise
// (`omp simd` reductions), so the same source runs 4, 8 or 16 floats wide.
//
// Shapes: Z, P, V, out are row-major (rows, K).
#pragma once

#include <cstdint>

namespace pyfastnn {
namespace entmax_detail {

template <typename T>
struct EntmaxKernels {
  // Z (rows, K) -> P (rows, K) = entmax15(Z / T); P must not overlap Z.
  void (*entmax15_rows)(const T* Z, int64_t rows, int64_t K, T inv_t, T* P) = nullptr;
  // Z (rows, K) -> P (rows, K) = alpha-entmax(Z / T), alpha > 1.
  void (*bisect_rows)(const T* Z, int64_t rows, int64_t K, T alpha, T inv_t, T* P) = nullptr;
  // P, V (rows, K) -> out (rows, K) = J V / T, J = diag(s) - s s^T / sum s, s = P^(2 - alpha);
  // out may be P or V exactly.
  void (*product_rows)(const T* P, const T* V, int64_t rows, int64_t K, T alpha, T inv_t,
                       T* out) = nullptr;
  // The same three with one row per vector lane (entmax_lanes.hpp), for
  // 1 <= K <= kEntmaxLaneRowsMaxK (and 1 < alpha <= 2 for bisect_lanes); null on
  // the portable ISA. The *_rows kernels above are their reference.
  void (*entmax15_lanes)(const T* Z, int64_t rows, int64_t K, T inv_t, T* P) = nullptr;
  void (*bisect_lanes)(const T* Z, int64_t rows, int64_t K, T alpha, T inv_t, T* P) = nullptr;
  void (*product_lanes)(const T* P, const T* V, int64_t rows, int64_t K, T alpha, T inv_t,
                        T* out) = nullptr;
  // Z, V (rows, K) -> out (rows, K) = J V / T at P = alpha-entmax(Z / T), P never
  // stored, for 1 < alpha < 2 but not 1.5 (a pow per entry), K <= kEntmaxLaneRowsMaxK:
  // the lane kernel's last pass gives s = p^(2 - alpha) = d^(e - 1) N^(alpha - 2)
  // (N the row's sum of d^e) without a pow per entry. out overlaps neither Z nor V.
  // Null on the portable ISA; bisect_lanes then product_lanes is its reference.
  void (*bisect_product_lanes)(const T* Z, const T* V, int64_t rows, int64_t K, T alpha,
                               T inv_t, T* out) = nullptr;
};

// Row lengths served by the lane kernels (a block of rows is transposed into
// columns on the stack, K vectors), and the fewest rows a call needs to use
// them (a block is 8 or 16 float / 4 or 8 double rows, padded).
constexpr int kEntmaxLaneRowsMaxK = 48;
constexpr int64_t kEntmaxLaneRowsMinRows = 4;

// Baseline x86-64 (or any CPU).
namespace portable {
EntmaxKernels<float> kernels_f32();
EntmaxKernels<double> kernels_f64();
}  // namespace portable

#ifdef PYFASTNN_X86
namespace avx2 {
EntmaxKernels<float> kernels_f32();
EntmaxKernels<double> kernels_f64();
}  // namespace avx2

namespace avx512 {
EntmaxKernels<float> kernels_f32();
EntmaxKernels<double> kernels_f64();
}  // namespace avx512
#endif

}  // namespace entmax_detail
}  // namespace pyfastnn
