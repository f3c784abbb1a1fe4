// General matrix multiply, row-major, float32 and float64.
//
//   C (M x N, leading dim ldc) = op(A) (M x K) @ op(B) (K x N) + beta * C
//
//   op(A) = A   with A stored M x K (lda >= K)   when trans_a == false
//   op(A) = A^T with A stored K x M (lda >= M)   when trans_a == true
//   op(B) = B   with B stored K x N (ldb >= N)   when trans_b == false
//   op(B) = B^T with B stored N x K (ldb >= K)   when trans_b == true
//
// beta == 0 overwrites C (its old contents, even NaN, are ignored).
// The three products backprop needs are X@W (N,N), dZ@W^T (N,T), X^T@dZ (T,N).
#pragma once

#include <cstdint>

namespace pyfastnn {

// Optional work done on each finished block of C while it is still in cache
// (bias add, activation, ...). `apply` is called exactly once for every element
// of C, on disjoint blocks, possibly from several threads at once; it receives
// the block's rows [i0, i0 + m) and columns [j0, j0 + n) of C, and `C`, a
// pointer to its element (i0, j0), with `ldc` the row stride there (C's own,
// or a scratch block's: see gemm_consume).
//
// Granularity (blocked.hpp, gemv.hpp): the blocked path calls it per
// finished micro-tile (at most MR x NR, e.g. 8 x 32 float with AVX-512, right
// after the last KC block of that tile is stored); the outer-product path
// (K == 1) per group of a few rows; the matrix-vector paths (M <= 3, N == 1,
// tiny products) once per thread's range of rows or columns. If K == 0 it is
// called once on all of C after C = beta * C. Never called when M == 0 or N == 0.
template <typename T>
struct GemmEpilogue {
  void (*apply)(const void* ctx, T* C, int64_t ldc, int64_t i0, int64_t j0, int64_t m,
                int64_t n) = nullptr;
  const void* ctx = nullptr;
};

// Runs on up to `num_threads` threads (0: the module's setting, see
// threads.hpp); small products run on the calling thread only. Safe to call
// concurrently from several threads (packing buffers are per thread). The
// kernels (AVX-512, AVX2/FMA or portable) follow active_isa() at the time of
// the call.
// A and B must not overlap C.
// Throws std::bad_alloc if packing memory cannot be allocated.
template <typename T>
void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, const T* A, int64_t lda,
          const T* B, int64_t ldb, T beta, T* C, int64_t ldc,
          const GemmEpilogue<T>* epilogue = nullptr, int num_threads = 0);

// The product P = op(A) @ op(B) (M x N) for a caller that wants only what
// `consume` does with it, block by block (e.g. a step over other arrays of
// P's shape that streams them once): as gemm with beta == 0 and `consume` as
// the epilogue, except that the blocked path hands over whole MC x NC blocks
// (still in L2) instead of micro-tiles, so that the arrays `consume` streams
// are read in whole row segments; and when K fits one KC block, it computes
// each block into a per-thread scratch block and never writes C. C is memory
// the call may use for P: its contents are unspecified afterwards.
template <typename T>
void gemm_consume(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, const T* A,
                  int64_t lda, const T* B, int64_t ldb, T* C, int64_t ldc,
                  const GemmEpilogue<T>& consume, int num_threads = 0);

}  // namespace pyfastnn
