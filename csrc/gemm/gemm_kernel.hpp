// Building blocks of the blocked GEMM in blocked.hpp: block sizes, packed-panel
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
// The tile MR x NR and the block sizes depend on the kernel family (ISA) and
// dtype: each family's KernelSet carries its BlockSizes, and blocked.hpp reads
// them at run time. Packed layouts, for the active family's MR and NR:
//   A sliver s of a block:  Ap[s*MR*kc + k*MR + r] = op(A)[ic + s*MR + r, pc + k]
//   B sliver s of a panel:  Bp[s*NR*kc + k*NR + c] = op(B)[pc + k, jc + s*NR + c]
// Rows / columns past the edge of the matrix are packed as zeros.
//
// This header holds declarations and constants only: the *_avx2.cpp and
// *_avx512.cpp files are compiled with those instructions enabled, and an
// inline function defined here and emitted there could be picked by the linker
// for the other paths too.
#pragma once

#include <cstdint>

namespace pyfastnn {
namespace gemm_detail {

// Block sizes of one kernel family for one dtype (see the structs below).
struct BlockSizes {
  int64_t MR, NR;      // micro-tile: MR rows x NR columns of C in registers
  int64_t KC, MC, NC;  // cache blocks; MC is a multiple of MR, NC of NR
};

// Largest MR x NR tile of any family, in bytes (the macro-kernel's edge-tile
// buffer lives on the stack).
constexpr int64_t kMaxTileBytes = 1024;

// The sizes of a Blocking struct as a value (a constant: no code is emitted,
// see the note at the top about inline functions).
template <class B>
constexpr BlockSizes block_sizes{B::MR, B::NR, B::KC, B::MC, B::NC};

// Block sizes of the portable and AVX2 kernels (6 x 16 float, 6 x 8 double).
template <typename T>
struct Blocking;

// Block sizes of the AVX-512 kernels (8 x 32 float, 8 x 16 double).
template <typename T>
struct BlockingAvx512;

// Machine the sizes were tuned on: AMD EPYC Zen 4 (2 vCPUs), 32 KB L1d, 1 MB L2
// per core, 32 MB shared L3, two 256-bit FMA pipes per core (32 flop/cycle in
// float, ~115 GFLOP/s per core at ~3.6 GHz). Sweeps at 1024^3 and 256x784x256
// (KC 128-384, MC 96-480) were flat to within the machine's noise (+-4%); the
// values below sit in the middle of the flat region for the reasons given.
// blocked.hpp splits K, M, N into equal blocks of at most these sizes (KC may
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

// AVX-512 (Zen 4: 512-bit FMAs are split over the two 256-bit pipes, so the
// peak is the AVX2 one, but each instruction does twice the work and there are
// 32 vector registers).
template <>
struct BlockingAvx512<float> {
  // 8 x 32 tile: 8 rows x 2 zmm = 16 accumulators + 2 B vectors + 1 broadcast
  // = 19 of the 32 zmm registers. Per k step: 16 zmm FMAs (16 cycles at one
  // zmm FMA per cycle) against 2 vector loads and 8 broadcasts; 16 independent
  // chains cover the FMA latency. MR = 8 wastes no rows on power-of-two batch
  // sizes (64, 256), unlike 6 or 12/14-row tiles.
  static constexpr int64_t MR = 8;
  static constexpr int64_t NR = 32;
  // KC: the B sliver (KC x 32 x 4 B = 48 KB at KC = 384) outgrows the 32 KB
  // L1, but a k step needs only 128 B of B per 16 cycles, which L2 supplies
  // easily; a long KC means fewer passes over C. Measured (2 threads,
  // interleaved): KC = 384 (K = 784 -> 2 x 392) beat 256 (3 x 262) by ~5-15%
  // at 64x784x256 and 256x784x256; 1024^3 flat over KC = 128-640.
  static constexpr int64_t KC = 384;
  // A block 256 x 384 x 4 B = 384 KB in the 1 MB L2; multiple of MR. MC from
  // 128 to 512 measured flat at 1024^3.
  static constexpr int64_t MC = 256;
  // B panel 384 x 4096 x 4 B = 6 MB in the 32 MB L3; multiple of NR.
  static constexpr int64_t NC = 4096;
};

template <>
struct BlockingAvx512<double> {
  // 8 x 16 tile: 8 rows x 2 zmm of 8 doubles, same register budget as float.
  static constexpr int64_t MR = 8;
  static constexpr int64_t NR = 16;
  // B sliver 384 x 16 x 8 B = 48 KB (from L2, as for float), A sliver
  // 8 x 384 x 8 B = 24 KB. Same measurements as float: 384 ahead of 192 / 256
  // at the 784-deep shapes, flat at 1024^3.
  static constexpr int64_t KC = 384;
  // A block 128 x 384 x 8 B = 384 KB in L2.
  static constexpr int64_t MC = 128;
  // B panel 384 x 2048 x 8 B = 6 MB in L3.
  static constexpr int64_t NC = 2048;
};

template <typename T, template <typename> class B>
constexpr bool tile_fits = B<T>::MR * B<T>::NR * static_cast<int64_t>(sizeof(T)) <= kMaxTileBytes;
static_assert(tile_fits<float, Blocking> && tile_fits<double, Blocking> &&
                  tile_fits<float, BlockingAvx512> && tile_fits<double, BlockingAvx512>,
              "raise kMaxTileBytes");

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

// Same as MicroKernelRows with B read in place too: row k of the tile's
// sliver is B[k*ldb : k*ldb + NR] (op(B) untransposed). Used when C is one
// block of rows (a batch of 64 @ a layer's weights): B is then read once per
// call, and packing it would cost a copy of B for nothing.
template <typename T>
using MicroKernelRowsB = void (*)(int64_t kc, const T* A, int64_t lda, const T* B, int64_t ldb,
                                  T* C, int64_t ldc, T beta);

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

// Packing of one partial sliver, w < W = NR columns wide, of untransposed B
// (the last columns of a narrow layer: 26 of 32):
//   dst[k*W + c] = src[k*ld + c] for c < w, 0 for w <= c < W, k in [0, kc).
template <typename T>
using PackEdgeKernel = void (*)(int64_t kc, int64_t w, const T* src, int64_t ld, T* dst);

template <typename T>
struct KernelSet {
  MicroKernel<T> micro;
  MicroKernelRows<T> micro_rows;
  PackKernel<T> pack_copy_mr, pack_transpose_mr, pack_copy_nr, pack_transpose_nr;
  DotRowsKernel<T> dot_rows;
  AxpyRowsKernel<T> axpy_rows;
  AxpbyKernel<T> axpby;
  BlockSizes blocks;  // tile and cache blocks the micro and pack kernels use
  MicroKernelRowsB<T> micro_rows_b = nullptr;  // null: always pack B (AVX2, portable)
  PackEdgeKernel<T> pack_copy_nr_edge = nullptr;  // null: pack_b's element loop
  // micro / micro_rows on the first NR / 2 (NR / 4) columns of the B sliver
  // only (C is MR x NR / 2, MR x NR / 4), for an edge sliver at most that
  // wide; null: the next wider kernel. (784-100 products at batch 200 ran as
  // slow as with 128 columns: 100 = 3 x 32 + 4.)
  MicroKernel<T> micro_half = nullptr;
  MicroKernelRows<T> micro_rows_half = nullptr;
  MicroKernel<T> micro_quarter = nullptr;
  MicroKernelRows<T> micro_rows_quarter = nullptr;
};

// Plain C++ (any CPU; the compiler vectorises for the baseline ISA).
namespace portable {
KernelSet<float> kernels_f32();
KernelSet<double> kernels_f64();
}  // namespace portable

#ifdef PYFASTNN_X86
// AVX2 + FMA intrinsics; problem.hpp registers them as the avx2 kernels.
namespace avx2 {
KernelSet<float> kernels_f32();
KernelSet<double> kernels_f64();
}  // namespace avx2

// AVX-512 F/VL/BW/DQ intrinsics (own tile, see BlockingAvx512); problem.hpp
// registers them as the avx512 kernels. The matrix-vector kernels are the AVX2 ones.
namespace avx512 {
KernelSet<float> kernels_f32();
KernelSet<double> kernels_f64();
}  // namespace avx512
#endif

}  // namespace gemm_detail
}  // namespace pyfastnn
