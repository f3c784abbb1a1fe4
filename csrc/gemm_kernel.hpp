// Building blocks of the blocked GEMM in gemm.cpp: block sizes, packed-panel
// layout and the per-ISA compute kernels.
//
// Layering (Goto & van de Geijn / BLIS):
//
//   for jc in N step NC:                 B panel  KC x NC  -> packed, lives in L3
//     for pc in K step KC:
//       pack op(B)[pc:pc+KC, jc:jc+NC] into NR-column slivers
//       for ic in M step MC:             A block  MC x KC  -> packed, lives in L2
//         pack op(A)[ic:ic+MC, pc:pc+KC] into MR-row slivers
//         for jr in NC step NR:          B sliver KC x NR  -> stays in L1
//           for ir in MC step MR:        A sliver MR x KC  -> streamed from L2
//             micro-kernel: C[MR x NR] (+)= A sliver @ B sliver, in registers
//
// Packed layouts (shared by every ISA, so MR and NR are per dtype, not per ISA):
//   A sliver s of a block:  Ap[s*MR*kc + k*MR + r] = op(A)[ic + s*MR + r, pc + k]
//   B sliver s of a panel:  Bp[s*NR*kc + k*NR + c] = op(B)[pc + k, jc + s*NR + c]
// Rows / columns past the edge of the matrix are packed as zeros.
//
// This header holds declarations and constants only: the *_avx2.cpp file is
// compiled with -mavx2 -mfma, and an inline function defined here and emitted
// there could be picked by the linker for the portable path too.
#pragma once

#include <cstdint>

namespace pyfastnn {
namespace gemm_detail {

template <typename T>
struct Blocking;

// Machine the sizes were tuned on: AMD EPYC Zen 4 (2 vCPUs), 32 KB L1d, 1 MB L2
// per core, 32 MB shared L3, two 256-bit FMA pipes per core (32 flop/cycle in
// float, ~115 GFLOP/s per core at ~3.6 GHz). Sweeps at 1024^3 and 256x784x256
// (KC 128-384, MC 96-480) were flat to within the machine's noise (+-4%); the
// values below sit in the middle of the flat region for the reasons given.
// gemm.cpp splits K, M, N into equal blocks of at most these sizes (KC may
// grow by 25% to avoid a short last block: K = 784 -> 3 x 262).
template <>
struct Blocking<float> {
  // 6 x 16 tile: 6 rows x 2 ymm = 12 accumulators + 2 B vectors + 1 broadcast
  // = 15 of the 16 ymm registers. Per k step: 12 FMAs against 2 vector loads
  // and 6 broadcasts, so the loads fit in the load ports while both FMA pipes
  // stay busy (12 independent chains cover the 4-cycle FMA latency x 2 pipes).
  static constexpr int64_t MR = 6;
  static constexpr int64_t NR = 16;
  // KC: a B sliver (KC x NR x 4 B = 16 KB at KC = 256) stays in the 32 KB L1
  // next to the A sliver streaming through (6 KB), with room for C and stack.
  static constexpr int64_t KC = 256;
  // MC: the packed A block (MC x KC x 4 B = 288 KB) sits in the 1 MB L2 with
  // room for B slivers passing through; MC is a multiple of MR.
  static constexpr int64_t MC = 288;
  // NC: the packed B panel (KC x NC x 4 B = 4 MB) lives in the 32 MB L3; large,
  // so that A is packed as few times as possible. Multiple of NR.
  static constexpr int64_t NC = 4096;
};

template <>
struct Blocking<double> {
  // 6 x 8 tile: 6 rows x 2 ymm of 4 doubles, same register budget as float.
  static constexpr int64_t MR = 6;
  static constexpr int64_t NR = 8;
  // B sliver KC x NR x 8 B = 16 KB in L1, A sliver 6 x KC x 8 B = 12 KB.
  static constexpr int64_t KC = 256;
  // A block 144 x 256 x 8 B = 288 KB in L2.
  static constexpr int64_t MC = 144;
  // B panel 256 x 2048 x 8 B = 4 MB in L3.
  static constexpr int64_t NC = 2048;
};

// ---- kernel signatures -----------------------------------------------------

// C[0:MR, 0:NR] (row stride ldc) = Ap (MR x kc, packed) @ Bp (kc x NR, packed)
//                                  + beta * C;  beta == 0: C is not read.
template <typename T>
using MicroKernel = void (*)(int64_t kc, const T* Ap, const T* Bp, T* C, int64_t ldc, T beta);

// Same as MicroKernel with A read in place instead of packed: A row r of the
// tile is A[r*lda : r*lda + kc] (op(A) untransposed, rows contiguous along k).
// Used for small M, where packing A costs more than it saves.
template <typename T>
using MicroKernelRows = void (*)(int64_t kc, const T* A, int64_t lda, const T* Bp, T* C,
                                 int64_t ldc, T beta);

// y[j] = dot(X[j*ldx : j*ldx + k], x) + beta * y[j]  for j in [0, n)
// (X: n x k, rows contiguous). beta == 0: y is not read.
template <typename T>
using DotRowsKernel = void (*)(int64_t n, int64_t k, const T* X, int64_t ldx, const T* x, T beta,
                               T* y);

// y[j] = sum_p x[p] * X[p*ldx + j] + beta * y[j]  for j in [0, n)
// (X: k x n, rows contiguous, i.e. y = x @ X). beta == 0: y is not read.
template <typename T>
using AxpyRowsKernel = void (*)(int64_t n, int64_t k, const T* X, int64_t ldx, const T* x, T beta,
                                T* y);

// y[j] = alpha * x[j] + beta * y[j]  for j in [0, n). beta == 0: y is not read.
template <typename T>
using AxpbyKernel = void (*)(int64_t n, T alpha, const T* x, T beta, T* y);

// Packing of `ns` full slivers of width W (W = MR for A, NR for B) that sit
// side by side in the source; sliver s goes to dst + s*W*kc:
//   copy:       dst[s*W*kc + k*W + c] = src[k*ld + s*W + c]    (W contiguous per k)
//   transpose:  dst[s*W*kc + k*W + c] = src[(s*W + c)*ld + k]  (W rows along k)
// for k in [0, kc), c in [0, W). Writes exactly ns*kc*W elements.
//   A untransposed: transpose, W = MR      A transposed: copy, W = MR
//   B untransposed: copy, W = NR           B transposed: transpose, W = NR
// The copy kernels walk the source row by row across all slivers (sequential
// reads); walking one sliver at a time strides by ld and was ~1.5x slower.
template <typename T>
using PackKernel = void (*)(int64_t kc, int64_t ns, const T* src, int64_t ld, T* dst);

template <typename T>
struct KernelSet {
  MicroKernel<T> micro;
  MicroKernelRows<T> micro_rows;
  PackKernel<T> pack_copy_mr, pack_transpose_mr, pack_copy_nr, pack_transpose_nr;
  DotRowsKernel<T> dot_rows;
  AxpyRowsKernel<T> axpy_rows;
  AxpbyKernel<T> axpby;
};

// Plain C++ (any CPU; the compiler vectorises for the baseline ISA).
namespace portable {
KernelSet<float> kernels_f32();
KernelSet<double> kernels_f64();
}  // namespace portable

#ifdef PYFASTNN_X86
// AVX2 + FMA intrinsics; call only when active_isa() == Isa::avx2_fma.
namespace avx2 {
KernelSet<float> kernels_f32();
KernelSet<double> kernels_f64();
}  // namespace avx2
#endif

}  // namespace gemm_detail
}  // namespace pyfastnn
