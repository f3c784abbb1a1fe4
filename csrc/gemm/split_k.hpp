// The split over k: C (M x N, M <= MC) = op(A) (M x K) @ op(B) (K x N) +
// beta * C with one thread per KC block of K, each running the blocked path
// on its block into C or its own M x N partial sums, which are then added in
// order (bit-identical to the blocked path on one thread).
// Private to gemm.cpp: included only into its translation unit (internal
// linkage, so code generation is that of one file).
#pragma once

#include <algorithm>
#include <cstdint>

#include "gemm/blocked.hpp"
#include "gemm/problem.hpp"
#include "gemm/workspace.hpp"

namespace pyfastnn {
namespace {

// How many threads gemm_split_k uses for g: one per KC block of K when C is a
// single MC block of rows and K has 2 to nt KC blocks; 0 otherwise.
template <typename T>
int64_t split_k_parts(const Problem<T>& g, int nt) {
  if (g.M > g.ks.blocks.MC) return 0;
  const Blocks bl(g.ks.blocks, g.M, g.N, g.K);
  const int64_t blocks = ceil_div(g.K, bl.kc);
  return blocks >= 2 && blocks <= nt ? blocks : 0;
}

// Shapes: C (M x N) = op(A) (M x K) @ op(B) (K x N) + beta C, M <= MC.
// Piece t computes the product over the t-th KC block of K: piece 0 into C
// (with beta), the others into partial sums P_t (M x N). Then a second job
// adds P_1, P_2, ... in order into column ranges of C and applies the
// epilogue there. On one thread the blocked path adds the KC blocks' products
// into C in the same order (C = P_t + C, per element), so the bits are the same.
// For a batch of rows times a tall matrix (64 x 784 @ 784 x 256: a layer's
// forward product) each thread reads only its rows of the matrix, the rows the
// weight step of the backward product (split by rows) left in its cache, and
// packs half of A and B instead of all of A; the cores exchange only the
// M x N partial sums.
template <typename T>
void gemm_split_k(const Problem<T>& g, int64_t parts) {
  const int64_t M = g.M, N = g.N, K = g.K;
  const int64_t kc = Blocks(g.ks.blocks, M, N, K).kc;
  constexpr int64_t kLine = 64 / sizeof(T);
  WorkspaceLease lease(tls_partials);
  T* const partials = lease.get<T>((parts - 1) * M * N);
  // Job 1: the KC blocks' products (piece t: the t-th block).
  parallel_for(parts, static_cast<int>(parts), [&](int64_t t) {
    const int64_t k0 = t * kc;
    Problem<T> h = g;
    h.K = std::min(K, k0 + kc) - k0;
    h.A = g.ta ? g.A + k0 * g.lda : g.A + k0;  // op(A)[:, k0 :]
    h.B = g.tb ? g.B + k0 : g.B + k0 * g.ldb;  // op(B)[k0 :, :]
    h.epi = nullptr;
    if (t > 0) {
      h.C = partials + (t - 1) * M * N;
      h.ldc = N;
      h.beta = T(0);
    }
    gemm_blocked(h, 0, M, 0, N);
  });
  // Job 2: the partial sums added in block order, and the epilogue, by
  // column ranges.
  parallel_ranges(N, kLine, static_cast<int>(parts), [&](int64_t j0, int64_t j1) {
    for (int64_t t = 1; t < parts; ++t) {
      const T* part = partials + (t - 1) * M * N;
      for (int64_t i = 0; i < M; ++i) {
        T* c = g.C + i * g.ldc;
        const T* p = part + i * N;
        for (int64_t j = j0; j < j1; ++j) c[j] = p[j] + c[j];
      }
    }
    g.finish(0, j0, M, j1 - j0);
  });
}

}  // namespace
}  // namespace pyfastnn
