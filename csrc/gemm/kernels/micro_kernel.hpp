// The register-blocked micro-kernel of the GEMM (see gemm_kernel.hpp for the
// layering and the packed layouts), written once over a vector vocabulary S
// (simd/vec_avx2.hpp, simd/vec_avx512.hpp) and a tile Tile (Tile::MR rows x
// Tile::NR columns, NR a multiple of S::W), and instantiated by each ISA's
// gemm_kernel_<isa>.cpp.
//
// Include only from *_avx2.cpp / *_avx512.cpp files (compiled with those
// instructions). Everything is in an anonymous namespace and no
// standard-library template is used, so no ISA-compiled copy can be picked by
// the linker for a caller on another path.
#pragma once

#ifdef PYFASTNN_X86

#include <immintrin.h>

#include <cstdint>

#include "gemm/gemm_kernel.hpp"

namespace pyfastnn {
namespace gemm_detail {
namespace {

// dst = acc + beta * dst (beta == 0: dst = acc, dst not read); full vector.
template <class S>
inline void store_beta(typename S::T* dst, typename S::V acc, typename S::T beta) {
  using T = typename S::T;
  if (beta == T(0))
    S::storeu(dst, acc);
  else if (beta == T(1))
    S::storeu(dst, S::add(S::loadu(dst), acc));
  else
    S::storeu(dst, S::fmadd(S::set1(beta), S::loadu(dst), acc));
}

// How the micro-kernel reads its MR x kc sliver of A (at(r, u): element
// (r, k + u) for the current k; advance(n): k += n; kUnroll: k steps per
// iteration of the main loop).
//   PackedA: packed sliver, (r, k) at p[k*MR + r].
//   RowsA:   A in place, untransposed, (r, k) at A[r*lda + k]; the first MR/2
//            rows from a0 + r*lda and the others from ah = a0 + (MR/2)*lda,
//            so the addresses stay base + index*scale (3 GPRs, no per-row
//            pointers). kUnroll is the ISA's (see its gemm_kernel_<isa>.cpp).
template <typename T, int MR>
struct PackedA {
  static constexpr int kUnroll = 4;
  const T* p;
  const T* at(int r, int u) const { return p + u * MR + r; }
  void advance(int k) { p += MR * k; }
  void prefetch_ahead() const {  // two unrolled iterations ahead
    _mm_prefetch(reinterpret_cast<const char*>(p + 8 * MR), _MM_HINT_T0);
  }
};

template <typename T, int MR, int Unroll>
struct RowsA {
  static constexpr int kUnroll = Unroll;
  static constexpr int kHalf = MR / 2;
  const T* a0;
  const T* ah;
  int64_t lda;
  RowsA(const T* a, int64_t ld) : a0(a), ah(a + kHalf * ld), lda(ld) {}
  const T* at(int r, int u) const {
    return r < kHalf ? a0 + r * lda + u : ah + (r - kHalf) * lda + u;
  }
  void advance(int k) {
    a0 += k;
    ah += k;
  }
  void prefetch_ahead() const {}  // MR sequential streams: the hardware prefetcher's job
};

// How the micro-kernel reads its kc x NR sliver of B (load(u, h): vector h of
// row k + u for the current k; advance(n): k += n).
//   PackedB: packed sliver, row k at p[k*NR] (aligned to the vector).
//   RowsB:   B in place, untransposed, row k at B[k*ldb] (any alignment).
template <class S, int NR>
struct PackedB {
  const typename S::T* p;
  typename S::V load(int u, int h) const { return S::load(p + u * NR + h * S::W); }
  void advance(int k) { p += k * NR; }
};

template <class S>
struct RowsB {
  const typename S::T* p;
  int64_t ldb;
  typename S::V load(int u, int h) const { return S::loadu(p + u * ldb + h * S::W); }
  void advance(int k) { p += k * ldb; }
};

// Shapes: A sliver MR x kc (read through a, see above), B sliver kc x NR
// (through b), C: MR x NR with row stride ldc.  C = A @ B + beta * C.
//
// MR x NV accumulators (NV = NR / W vectors per row of C) + NV B vectors + 1
// broadcast of A must stay in registers: any extra live value makes GCC spill
// accumulators inside the k loop (check the assembly after changes: the loop
// must have no stack references). Each accumulator sums its products in k
// order, one FMA per k. Inlined into each entry point below, so that a and b
// live in registers.
template <class S, int MR, int NR, class AS, class BS>
__attribute__((always_inline)) inline void micro_kernel_tile(int64_t kc, AS a, BS b,
                                                             typename S::T* C, int64_t ldc,
                                                             typename S::T beta) {
  using V = typename S::V;
  constexpr int W = S::W;
  constexpr int NV = NR / W;
  static_assert(NV * W == NR, "NR must be a whole number of vectors");
  static_assert(MR * NR * sizeof(typename S::T) <= kMaxTileBytes, "edge-tile buffer too small");
  // The caller prefetches the C tile: doing it here costs registers.

  V c[MR][NV];
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 4
    for (int h = 0; h < NV; ++h) c[r][h] = S::zero();

  // One k step: row k + u of B against column k + u of A.
  auto step = [&](int u) __attribute__((always_inline)) {
    V bv[NV];
#pragma GCC unroll 4
    for (int h = 0; h < NV; ++h) bv[h] = b.load(u, h);
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r) {
      const V x = S::bcast(a.at(r, u));
#pragma GCC unroll 4
      for (int h = 0; h < NV; ++h) c[r][h] = S::fmadd(x, bv[h], c[r][h]);
    }
  };

  constexpr int U = AS::kUnroll;
  int64_t k = 0;
  for (; k + U <= kc; k += U) {
    a.prefetch_ahead();
#pragma GCC unroll 4
    for (int u = 0; u < U; ++u) step(u);
    a.advance(U);
    b.advance(U);
  }
  for (; k < kc; ++k) {
    step(0);
    a.advance(1);
    b.advance(1);
  }

#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 4
    for (int h = 0; h < NV; ++h) store_beta<S>(C + r * ldc + h * W, c[r][h], beta);
}

// Shapes: see MicroKernel in gemm_kernel.hpp.
template <class S, class Tile>
void micro_kernel(int64_t kc, const typename S::T* Ap, const typename S::T* Bp,
                  typename S::T* C, int64_t ldc, typename S::T beta) {
  constexpr int MR = Tile::MR, NR = Tile::NR;
  micro_kernel_tile<S, MR, NR>(kc, PackedA<typename S::T, MR>{Ap}, PackedB<S, NR>{Bp}, C, ldc,
                               beta);
}

// Shapes: see MicroKernelRows in gemm_kernel.hpp.
template <class S, class Tile, int RowsUnroll>
void micro_kernel_rows(int64_t kc, const typename S::T* A, int64_t lda, const typename S::T* Bp,
                       typename S::T* C, int64_t ldc, typename S::T beta) {
  constexpr int MR = Tile::MR, NR = Tile::NR;
  micro_kernel_tile<S, MR, NR>(kc, RowsA<typename S::T, MR, RowsUnroll>(A, lda),
                               PackedB<S, NR>{Bp}, C, ldc, beta);
}

// Shapes: see micro_half / micro_quarter in KernelSet (gemm_kernel.hpp): the
// first Cols columns of the tile (a whole number of S's vectors; S may be
// narrower than the tile's own vectors), B read with the sliver's stride NR.
template <class S, class Tile, int Cols>
void micro_kernel_part(int64_t kc, const typename S::T* Ap, const typename S::T* Bp,
                       typename S::T* C, int64_t ldc, typename S::T beta) {
  constexpr int MR = Tile::MR, NR = Tile::NR;
  micro_kernel_tile<S, MR, Cols>(kc, PackedA<typename S::T, MR>{Ap}, PackedB<S, NR>{Bp}, C, ldc,
                                 beta);
}

template <class S, class Tile, int Cols, int RowsUnroll>
void micro_kernel_rows_part(int64_t kc, const typename S::T* A, int64_t lda,
                            const typename S::T* Bp, typename S::T* C, int64_t ldc,
                            typename S::T beta) {
  constexpr int MR = Tile::MR, NR = Tile::NR;
  micro_kernel_tile<S, MR, Cols>(kc, RowsA<typename S::T, MR, RowsUnroll>(A, lda),
                                 PackedB<S, NR>{Bp}, C, ldc, beta);
}

// Shapes: see MicroKernelRowsB in gemm_kernel.hpp.
template <class S, class Tile, int RowsUnroll>
void micro_kernel_rows_b(int64_t kc, const typename S::T* A, int64_t lda,
                         const typename S::T* B, int64_t ldb, typename S::T* C, int64_t ldc,
                         typename S::T beta) {
  constexpr int MR = Tile::MR, NR = Tile::NR;
  micro_kernel_tile<S, MR, NR>(kc, RowsA<typename S::T, MR, RowsUnroll>(A, lda),
                               RowsB<S>{B, ldb}, C, ldc, beta);
}

}  // namespace
}  // namespace gemm_detail
}  // namespace pyfastnn

#endif  // PYFASTNN_X86
