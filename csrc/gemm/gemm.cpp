// The GEMM driver: C (M x N) = op(A) (M x K) @ op(B) (K x N) + beta * C picks
// one strategy per call, and gemm / gemm_consume are instantiated here for
// float and double. The strategies, each in its own header (one translation
// unit with this file):
//   gemv.hpp       M <= 3, N == 1, K == 1, K == 0 and tiny products, where
//                  packing does not pay: the matrix-vector kernels
//   blocked.hpp    the blocked path (Goto & van de Geijn / BLIS layering, see
//                  gemm_kernel.hpp): packing, macro-kernel over MC x NC x KC
//                  blocks, MR x NR micro-kernel of the active ISA, and its
//                  split of C into one rectangle per thread
//   split_k.hpp    one thread per KC block of K when C is one MC block of rows
// and what they share:
//   problem.hpp    Problem, the kernel tables, block helpers
//   workspace.hpp  the per-thread packing memory
//
// Threads: one parallel job per call (runtime/parallel.hpp), at the outermost
// level. The blocked path cuts C into one rectangle per thread (see
// gemm_blocked_parallel); the matrix-vector paths split their output range. Below kParallelMinFlops
// (blocked), kParallelMinGemvElems (matrix-vector) or kParallelMinOuterElems
// (outer product) everything runs on the calling thread. Packing memory is per
// OS thread and reused across calls (thread_local): concurrent calls share
// nothing, and no thread waits for another inside a call.
#include "gemm/gemm.hpp"

#include <cstdint>

#include "gemm/blocked.hpp"
#include "gemm/gemv.hpp"
#include "gemm/problem.hpp"
#include "gemm/split_k.hpp"
#include "runtime/threads.hpp"

namespace pyfastnn {
namespace {

// gemm, or gemm_consume when `consume`.
template <typename T>
void gemm_problem(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, const T* A,
                  int64_t lda, const T* B, int64_t ldb, T beta, T* C, int64_t ldc,
                  const GemmEpilogue<T>* epilogue, int num_threads, bool consume) {
  if (M <= 0 || N <= 0) return;
  Problem<T> g{trans_a, trans_b, M, N, K, A, lda, B, ldb, beta, C, ldc,
               (epilogue != nullptr && epilogue->apply != nullptr) ? epilogue : nullptr,
               KernelSet<T>{}, consume};
  if (K <= 0) {
    scale_only(g);
    return;
  }
  g.ks = active_kernels<T>();
  int nt = num_threads > 0 ? num_threads : pyfastnn::num_threads();
  if (nt < 1) nt = 1;
  constexpr int64_t kLine = 64 / sizeof(T);  // elements per cache line

  if (M <= kRowsByGemvMaxM) {  // row vector(s) @ matrix: split the columns
    const int t = M * K * N >= kParallelMinGemvElems ? nt : 1;
    parallel_ranges(N, kLine, t, [&](int64_t j0, int64_t j1) { rows_by_gemv(g, 0, M, j0, j1); });
    return;
  }
  if (N == 1) {  // matrix @ column vector: split the rows
    const int t = M * K >= kParallelMinGemvElems ? nt : 1;
    parallel_ranges(M, kLine, t, [&](int64_t i0, int64_t i1) { column_by_gemv(g, i0, i1); });
    return;
  }
  if (K == 1) {  // outer product: split the rows
    const int t = M * N >= kParallelMinOuterElems ? nt : 1;
    parallel_ranges(M, 1, t, [&](int64_t i0, int64_t i1) { outer_product(g, i0, i1); });
    return;
  }
  if (M * N * K <= kDirectMaxVolume) {
    rows_by_gemv(g, 0, M, 0, N);
    return;
  }
  if (nt == 1 || 2.0 * static_cast<double>(M) * static_cast<double>(N) *
                         static_cast<double>(K) <
                     kParallelMinFlops)
    gemm_blocked(g, 0, M, 0, N);
  else if (const int64_t parts = split_k_parts(g, nt))
    gemm_split_k(g, parts);
  else
    gemm_blocked_parallel(g, nt);
}

}  // namespace

template <typename T>
void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, const T* A, int64_t lda,
          const T* B, int64_t ldb, T beta, T* C, int64_t ldc, const GemmEpilogue<T>* epilogue,
          int num_threads) {
  gemm_problem(trans_a, trans_b, M, N, K, A, lda, B, ldb, beta, C, ldc, epilogue, num_threads,
               /*consume=*/false);
}

template <typename T>
void gemm_consume(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, const T* A,
                  int64_t lda, const T* B, int64_t ldb, T* C, int64_t ldc,
                  const GemmEpilogue<T>& consume, int num_threads) {
  gemm_problem(trans_a, trans_b, M, N, K, A, lda, B, ldb, T(0), C, ldc, &consume, num_threads,
               /*consume=*/true);
}

template void gemm<float>(bool, bool, int64_t, int64_t, int64_t, const float*, int64_t,
                          const float*, int64_t, float, float*, int64_t,
                          const GemmEpilogue<float>*, int);
template void gemm<double>(bool, bool, int64_t, int64_t, int64_t, const double*, int64_t,
                           const double*, int64_t, double, double*, int64_t,
                           const GemmEpilogue<double>*, int);
template void gemm_consume<float>(bool, bool, int64_t, int64_t, int64_t, const float*, int64_t,
                                  const float*, int64_t, float*, int64_t,
                                  const GemmEpilogue<float>&, int);
template void gemm_consume<double>(bool, bool, int64_t, int64_t, int64_t, const double*,
                                   int64_t, const double*, int64_t, double*, int64_t,
                                   const GemmEpilogue<double>&, int);

}  // namespace pyfastnn
