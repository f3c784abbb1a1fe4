// The matrix-vector and degenerate paths, where packing does not pay: rows of
// C by the matrix-vector kernels (M <= kRowsByGemvMaxM: 1..3 x K @ K x N, and
// tiny products), a column (N == 1: M x K @ K x 1), the outer product
// (K == 1: M x 1 @ 1 x N) and C = beta * C (K == 0).
// Private to gemm.cpp: included only into its translation unit (internal
// linkage, so code generation is that of one file).
#pragma once

#include <algorithm>
#include <cstdint>

#include "gemm/problem.hpp"
#include "gemm/workspace.hpp"

namespace pyfastnn {
namespace {

// ---- tuning constants --------------------------------------------------------

// Matrix-vector and outer-product paths are memory-bound: split over threads
// only when the matrix streamed (GEMV: M*K*N elements read) or written (outer
// product: M*N) is at least this large. Measured crossovers (float, 2 threads):
// GEMV between K*N = 64K and 128K elements (1x784x256, 200K: 1.4-1.7x faster
// on 2 threads), outer product between M*N = 32K and 64K.
constexpr int64_t kParallelMinGemvElems = 128 * 1024;
constexpr int64_t kParallelMinOuterElems = 64 * 1024;

// An outer product hands its rows to the epilogue in groups of this many, while
// they are still in L1 (a batch-1 training step updates W there).
constexpr int64_t kOuterEpilogueRows = 8;

// Products with M*N*K at most this are computed row by row with the
// matrix-vector kernels: packing would cost as much as the arithmetic.
constexpr int64_t kDirectMaxVolume = 16 * 16 * 16;

// Up to this many rows, C is computed row by row with the matrix-vector
// kernels (op(B) streamed once per row) instead of packing: with M < MR most of
// each micro-tile would be padding, and packing B costs about one pass anyway.
// Measured (float, K x N = 784 x 256, 1 thread): rows ~41 GFLOP/s for M = 1..4,
// packed 9 / 22 / 32 / 33-39 GFLOP/s for M = 1 / 2 / 3 / 4.
constexpr int64_t kRowsByGemvMaxM = 3;

// ---- matrix-vector paths ---------------------------------------------------------

// Row i of op(A) as a contiguous vector of K (gathered into buf if strided).
template <typename T>
const T* a_row(const Problem<T>& g, int64_t i, T* buf) {
  if (!g.ta) return g.A + i * g.lda;
  if (g.lda == 1 || g.K == 1) return g.A + i;
  for (int64_t k = 0; k < g.K; ++k) buf[k] = g.A[k * g.lda + i];
  return buf;
}

// Column j of op(B) as a contiguous vector of K (gathered into buf if strided).
template <typename T>
const T* b_col(const Problem<T>& g, int64_t j, T* buf) {
  if (g.tb) return g.B + j * g.ldb;
  if (g.ldb == 1 || g.K == 1) return g.B + j;
  for (int64_t k = 0; k < g.K; ++k) buf[k] = g.B[k * g.ldb + j];
  return buf;
}

// C[i0:i1, j0:j1] one row at a time: row i = op(A)[i, :] @ op(B)[:, j0:j1].
template <typename T>
void rows_by_gemv(const Problem<T>& g, int64_t i0, int64_t i1, int64_t j0, int64_t j1) {
  WorkspaceLease ws;
  T* xbuf = g.ta ? ws.get<T>(g.K) : nullptr;
  const int64_t n = j1 - j0;
  for (int64_t i = i0; i < i1; ++i) {
    const T* x = a_row(g, i, xbuf);
    T* y = g.C + i * g.ldc + j0;
    if (!g.tb)
      g.ks.axpy_rows(n, g.K, g.B + j0, g.ldb, x, g.beta, y);
    else
      g.ks.dot_rows(n, g.K, g.B + j0 * g.ldb, g.ldb, x, g.beta, y);
  }
  g.finish(i0, j0, i1 - i0, n);
}

// N == 1: C[i0:i1, 0] = op(A)[i0:i1, :] @ op(B)[:, 0].
template <typename T>
void column_by_gemv(const Problem<T>& g, int64_t i0, int64_t i1) {
  const int64_t m = i1 - i0;
  WorkspaceLease ws;
  T* buf = ws.get<T>(g.K + m);
  const T* b = b_col(g, 0, buf);
  T* y = g.C + i0 * g.ldc;
  if (g.ldc != 1) {  // strided output column: work on a contiguous copy
    y = buf + g.K;
    if (g.beta != T(0))
      for (int64_t i = 0; i < m; ++i) y[i] = g.C[(i0 + i) * g.ldc];
  }
  if (!g.ta)
    g.ks.dot_rows(m, g.K, g.A + i0 * g.lda, g.lda, b, g.beta, y);
  else
    g.ks.axpy_rows(m, g.K, g.A + i0, g.lda, b, g.beta, y);
  if (g.ldc != 1)
    for (int64_t i = 0; i < m; ++i) g.C[(i0 + i) * g.ldc] = y[i];
  g.finish(i0, 0, m, 1);
}

// K == 1: C[i0:i1, :] = op(A)[i0:i1, 0] (outer) op(B)[0, :] + beta * C.
template <typename T>
void outer_product(const Problem<T>& g, int64_t i0, int64_t i1) {
  WorkspaceLease ws;
  const T* b = g.B;  // row 0 of op(B)
  if (g.tb && g.ldb != 1) {
    T* buf = ws.get<T>(g.N);
    for (int64_t j = 0; j < g.N; ++j) buf[j] = g.B[j * g.ldb];
    b = buf;
  }
  for (int64_t r0 = i0; r0 < i1; r0 += kOuterEpilogueRows) {
    const int64_t r1 = std::min(i1, r0 + kOuterEpilogueRows);
    for (int64_t i = r0; i < r1; ++i) {
      const T a = g.ta ? g.A[i] : g.A[i * g.lda];
      g.ks.axpby(g.N, a, b, g.beta, g.C + i * g.ldc);
    }
    g.finish(r0, 0, r1 - r0, g.N);  // while these rows are in L1
  }
}

// K == 0: C = beta * C (zeros when beta == 0), then the epilogue.
template <typename T>
void scale_only(const Problem<T>& g) {
  for (int64_t i = 0; i < g.M; ++i) {
    T* c = g.C + i * g.ldc;
    if (g.beta == T(0)) {
      for (int64_t j = 0; j < g.N; ++j) c[j] = T(0);
    } else if (g.beta != T(1)) {
      for (int64_t j = 0; j < g.N; ++j) c[j] *= g.beta;
    }
  }
  g.finish(0, 0, g.M, g.N);
}

}  // namespace
}  // namespace pyfastnn
