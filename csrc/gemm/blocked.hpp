// The blocked path (Goto & van de Geijn / BLIS layering, see gemm_kernel.hpp):
// C[m0 : m1, n0 : n1] (M x N) = op(A) (M x K) @ op(B) (K x N) + beta * C in
// MC x NC x KC blocks. pack_a / pack_b copy op(A) and op(B) into MR- and
// NR-wide slivers (absorbing trans_a / trans_b, so all four transpose cases
// share one macro- and micro-kernel); the macro-kernel runs the family's
// MR x NR micro-kernel over a block; untransposed A (and B) may be read in
// place instead of packed. gemm_blocked_parallel cuts C into one rectangle per
// thread (a pm x pn grid chosen by grid_cost).
// Private to gemm.cpp: included only into its translation unit (internal
// linkage, so code generation is that of one file).
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <new>
#include <numeric>

#include "gemm/gemm_kernel.hpp"
#include "gemm/problem.hpp"
#include "gemm/workspace.hpp"

namespace pyfastnn {
namespace {

// ---- tuning constants --------------------------------------------------------

// Below this many flops (2*M*N*K) the blocked path runs single-threaded: the
// hand-out and completion of a parallel job (a few microseconds) would eat the gain.
// (Measured with OpenMP's fork/join; the pool's is no dearer.)
// Measured crossover (float, 2 threads): n^3 products gain from n ~ 80
// (1 MFLOP, ~11 us single-threaded); 64^3 (0.52 MFLOP) is faster on one
// thread. The small layer of a 784-256-26 training step (64x256x26 products,
// 0.85 MFLOP, edge tiles) gains: its backward pass took 27-31 us on two
// threads against 36-46 on one.
constexpr double kParallelMinFlops = 0.75e6;

// A KC block may grow up to this factor over the family's KC so that K splits
// into equal blocks (K = 784 -> 3 x 262 instead of 256 + 256 + 256 + 16).
constexpr double kKcSlack = 1.25;

// Hint that the line holding p will soon be written.
inline void prefetch_for_write(const void* p) {
#if defined(__GNUC__) || defined(__clang__)
  __builtin_prefetch(p, 1);
#else
  (void)p;
#endif
}

// ---- packing -----------------------------------------------------------------

// Shapes: op(A)[i0 : i0+mc, p0 : p0+kc] -> ceil(mc / MR) slivers of MR x kc at
// dst, dst[s*MR*kc + k*MR + r] = op(A)[i0 + s*MR + r, p0 + k]; rows past mc are 0.
template <typename T>
void pack_a(const Problem<T>& g, int64_t i0, int64_t p0, int64_t mc, int64_t kc, T* dst) {
  const int64_t MR = g.ks.blocks.MR;
  const int64_t lda = g.lda;
  // op(A)[i, k] = src[i*rs + k*cs]
  const int64_t rs = g.ta ? 1 : lda, cs = g.ta ? lda : 1;
  const auto full = g.ta ? g.ks.pack_copy_mr : g.ks.pack_transpose_mr;
  const int64_t ns = mc / MR, mr = mc % MR;
  full(kc, ns, g.A + i0 * rs + p0 * cs, lda, dst);
  if (mr > 0) {  // edge sliver, zero-padded
    const T* src = g.A + (i0 + ns * MR) * rs + p0 * cs;
    T* d = dst + ns * MR * kc;
    for (int64_t k = 0; k < kc; ++k) {
      for (int64_t r = 0; r < mr; ++r) d[k * MR + r] = src[r * rs + k * cs];
      for (int64_t r = mr; r < MR; ++r) d[k * MR + r] = T(0);
    }
  }
}

// Shapes: op(B)[p0 : p0+kc, j0 : j0+nc] -> ceil(nc / NR) slivers of kc x NR at
// dst, dst[s*NR*kc + k*NR + c] = op(B)[p0 + k, j0 + s*NR + c]; columns past nc are 0.
template <typename T>
void pack_b(const Problem<T>& g, int64_t p0, int64_t j0, int64_t kc, int64_t nc, T* dst) {
  const int64_t NR = g.ks.blocks.NR;
  const int64_t ldb = g.ldb;
  // op(B)[k, j] = src[k*rs + j*cs]
  const int64_t rs = g.tb ? 1 : ldb, cs = g.tb ? ldb : 1;
  const auto full = g.tb ? g.ks.pack_transpose_nr : g.ks.pack_copy_nr;
  const int64_t ns = nc / NR, nr = nc % NR;
  full(kc, ns, g.B + p0 * rs + j0 * cs, ldb, dst);
  if (nr > 0) {  // edge sliver, zero-padded
    const T* src = g.B + p0 * rs + (j0 + ns * NR) * cs;
    T* d = dst + ns * NR * kc;
    if (!g.tb && g.ks.pack_copy_nr_edge != nullptr) {
      g.ks.pack_copy_nr_edge(kc, nr, src, ldb, d);
      return;
    }
    for (int64_t k = 0; k < kc; ++k) {
      for (int64_t c = 0; c < nr; ++c) d[k * NR + c] = src[k * rs + c * cs];
      for (int64_t c = nr; c < NR; ++c) d[k * NR + c] = T(0);
    }
  }
}

// ---- macro-kernel --------------------------------------------------------------

// The narrowest micro-kernel of the family that covers an edge sliver nr
// columns wide (the tile's NR / 4, NR / 2 or all NR columns).
template <typename T>
gemm_detail::MicroKernel<T> edge_kernel(const gemm_detail::KernelSet<T>& ks, int64_t nr) {
  const int64_t NR = ks.blocks.NR;
  if (4 * nr <= NR && ks.micro_quarter != nullptr) return ks.micro_quarter;
  if (2 * nr <= NR && ks.micro_half != nullptr) return ks.micro_half;
  return ks.micro;
}

template <typename T>
gemm_detail::MicroKernelRows<T> edge_kernel_rows(const gemm_detail::KernelSet<T>& ks,
                                                 int64_t nr) {
  const int64_t NR = ks.blocks.NR;
  if (4 * nr <= NR && ks.micro_rows_quarter != nullptr) return ks.micro_rows_quarter;
  if (2 * nr <= NR && ks.micro_rows_half != nullptr) return ks.micro_rows_half;
  return ks.micro_rows;
}

// Shapes: A block mc x kc, Bp packed kc x nc; the block (i0, j0) of C, held
// at Cb with row stride ldc (C itself or a scratch block), = A @ Bp + beta * it.
// The A block is either packed at Ap (A_rows == nullptr), or read in place
// from A_rows = &op(A)[i0, pc] (untransposed A, row stride lda) with only a
// partial last sliver packed at Ap. `last`: this is the final KC block, so
// each finished micro-tile goes through the epilogue while it is still in L1.
// Likewise B: packed at Bp (B_rows == nullptr), or read in place from B_rows =
// &op(B)[pc, j0] (untransposed B, row stride ldb; with A in place, whole
// slivers of MR rows only) with only a partial last sliver packed at Bp.
template <typename T>
void macro_kernel(const Problem<T>& g, int64_t i0, int64_t j0, int64_t mc, int64_t nc, int64_t kc,
                  const T* Ap, const T* A_rows, const T* Bp, const T* B_rows, T beta, bool last,
                  T* Cb, int64_t ldc) {
  const int64_t MR = g.ks.blocks.MR, NR = g.ks.blocks.NR;
  const auto micro = g.ks.micro;
  const auto micro_rows = g.ks.micro_rows;
  const int64_t lda = g.lda;
  alignas(64) T tile[gemm_detail::kMaxTileBytes / sizeof(T)];  // MR * NR used
  for (int64_t jr = 0; jr < nc; jr += NR) {
    const int64_t nr = std::min(NR, nc - jr);
    if (B_rows != nullptr && nr == NR) {
      for (int64_t ir = 0; ir < mc; ir += MR) {
        T* c = Cb + ir * ldc + jr;
        g.ks.micro_rows_b(kc, A_rows + ir * lda, lda, B_rows + jr, g.ldb, c, ldc, beta);
        if (last && !g.finish_blocks()) g.finish_at(c, ldc, i0 + ir, j0 + jr, MR, NR);
      }
      continue;
    }
    const T* bs = B_rows != nullptr ? Bp : Bp + jr * kc;
    for (int64_t ir = 0; ir < mc; ir += MR) {
      const int64_t mr = std::min(MR, mc - ir);
      const bool in_place = A_rows != nullptr && mr == MR;
      const T* as = A_rows == nullptr ? Ap + ir * kc : Ap;  // in-place mode: edge sliver at Ap
      T* c = Cb + ir * ldc + jr;
      // Start bringing the C tile in while the k loop runs (first and last
      // element of each row: a row may straddle two cache lines).
      for (int64_t r = 0; r < mr; ++r) {
        prefetch_for_write(c + r * ldc);
        prefetch_for_write(c + r * ldc + nr - 1);
      }
      if (mr == MR && nr == NR) {
        if (in_place)
          micro_rows(kc, A_rows + ir * lda, lda, bs, c, ldc, beta);
        else
          micro(kc, as, bs, c, ldc, beta);
      } else {
        // Edge tile: into a local buffer (only its first NR / 4 or NR / 2
        // columns when the sliver is no wider and the family has those
        // kernels), then the valid part.
        if (in_place)
          edge_kernel_rows(g.ks, nr)(kc, A_rows + ir * lda, lda, bs, tile, NR, T(0));
        else
          edge_kernel(g.ks, nr)(kc, as, bs, tile, NR, T(0));
        for (int64_t r = 0; r < mr; ++r) {
          T* cr = c + r * ldc;
          const T* tr = tile + r * NR;
          if (beta == T(0)) {
            for (int64_t q = 0; q < nr; ++q) cr[q] = tr[q];
          } else {
            for (int64_t q = 0; q < nr; ++q) cr[q] = tr[q] + beta * cr[q];
          }
        }
      }
      if (last && !g.finish_blocks()) g.finish_at(c, ldc, i0 + ir, j0 + jr, mr, nr);
    }
  }
}

// Whether the blocked path reads A in place instead of packing it, for a
// thread's block of M rows: only for untransposed A (rows contiguous along k)
// and a single MC block (small M, e.g. a batch of 64: each thread would pack
// all of A, which costs ~6% of its time, and the in-place kernel runs as fast).
// Not when the row stride maps several of the MR rows onto the same L1 sets
// (e.g. lda * sizeof(T) a multiple of 4 KB): the A rows would then evict the
// B sliver held in L1.
template <typename T>
bool read_a_in_place(const Problem<T>& g, int64_t M) {
  const int64_t MR = g.ks.blocks.MR;
  if (g.ta || M > g.ks.blocks.MC || M < MR || g.ks.micro_rows == nullptr) return false;
  constexpr int64_t kLineBytes = 64, kSets = 64;  // 32 KB, 8-way L1d
  const int64_t stride_lines = g.lda * static_cast<int64_t>(sizeof(T)) / kLineBytes;
  int per_set[kSets] = {};
  for (int64_t r = 0; r < MR; ++r)
    if (++per_set[(r * stride_lines) % kSets] > 2) return false;
  return true;
}

// Whether the blocked path, reading A in place (read_a_in_place), reads op(B)
// in place too (kernel families with micro_rows_b): untransposed B, whole
// slivers of MR rows, at most kInPlaceBMaxRows of them. Every row tile then
// streams the B sliver from L2 (at K = 784 a 32-column float sliver does not
// fit L1, packed or not), and packing B first is one more pass over it.
// Measured (float, AVX-512, K x N = 784 x 256, 1 / 2 threads): M = 8 1.51x /
// 1.26x faster, 16 1.21x / 1.27x, 32 1.08x / 1.10x, 64 1.01x, 128 1.01x,
// 256 0.97x / 0.94x (so not there); AVX2's 6 x 16 tile was 0.88-0.95x, so
// that family packs. Not when the row stride maps B's rows onto a few L1
// sets (e.g. ldb * sizeof(T) a multiple of 2 KB): 64 x 32 @ 32 x 1024 was
// 7% slower.
constexpr int64_t kInPlaceBMaxRows = 128;

template <typename T>
bool read_b_in_place(const Problem<T>& g, int64_t M, bool a_in_place) {
  if (!a_in_place || g.tb || g.ks.micro_rows_b == nullptr || M > kInPlaceBMaxRows ||
      M % g.ks.blocks.MR != 0)
    return false;
  constexpr int64_t kLineBytes = 64, kSets = 64;  // 32 KB, 8-way L1d
  const int64_t stride = g.ldb * static_cast<int64_t>(sizeof(T));
  if (stride % kLineBytes != 0) return true;  // rows start at shifting offsets in their lines
  const int64_t sets_visited = kSets / std::gcd(stride / kLineBytes, kSets);
  return sets_visited >= 4;
}

// Block sizes of one call: K, M and N split into equal blocks of at most
// (about) KC, MC and NC; MC and NC rounded up to whole slivers.
struct Blocks {
  int64_t kc, mc, nc;
  Blocks(const BlockSizes& b, int64_t M, int64_t N, int64_t K) {
    kc = even_block(K, static_cast<int64_t>(static_cast<double>(b.KC) * kKcSlack));
    mc = round_up(even_block(M, b.MC), b.MR);
    nc = round_up(even_block(N, b.NC), b.NR);
  }
  int64_t a_elems() const { return round_up(mc * kc, 64); }  // keeps Bp 64-byte aligned
  int64_t b_elems() const { return nc * kc; }
};

// The blocked algorithm on C[m0 : m1, n0 : n1], on the calling thread, with
// its own packing buffers.
template <typename T>
void gemm_blocked(const Problem<T>& g, int64_t m0, int64_t m1, int64_t n0, int64_t n1) {
  const int64_t M = m1 - m0, N = n1 - n0, K = g.K;
  const Blocks bl(g.ks.blocks, M, N, K);
  const int64_t MR = g.ks.blocks.MR;
  const bool in_place = read_a_in_place(g, M);
  const bool in_place_b = read_b_in_place(g, M, in_place);
  // One KC block and a discardable C: each block goes to scratch (Cs, mc x nc).
  const bool scratch_c = g.may_discard_c() && K <= bl.kc;
  WorkspaceLease ws;
  T* const Ap = ws.get<T>(bl.a_elems() + bl.b_elems() + (scratch_c ? bl.mc * bl.nc : 0));
  T* const Bp = Ap + bl.a_elems();
  T* const Cs = scratch_c ? Bp + bl.b_elems() : nullptr;  // 64-byte aligned: nc % NR == 0
  for (int64_t jc = 0; jc < N; jc += bl.nc) {
    const int64_t nc = std::min(bl.nc, N - jc);
    for (int64_t pc = 0; pc < K; pc += bl.kc) {
      const int64_t kc = std::min(bl.kc, K - pc);
      const T beta = pc == 0 ? g.beta : T(1);
      const bool last = pc + kc == K;
      const T* b_rows = nullptr;
      if (in_place_b) {  // pack only a partial last sliver
        const int64_t NR = g.ks.blocks.NR, full = nc - nc % NR;
        if (full < nc) pack_b(g, pc, n0 + jc + full, kc, nc - full, Bp);
        b_rows = g.B + pc * g.ldb + n0 + jc;
      } else {
        pack_b(g, pc, n0 + jc, kc, nc, Bp);
      }
      for (int64_t ic = 0; ic < M; ic += bl.mc) {
        const int64_t mc = std::min(bl.mc, M - ic);
        T* const cb = scratch_c ? Cs : g.C + (m0 + ic) * g.ldc + n0 + jc;
        const int64_t ldcb = scratch_c ? nc : g.ldc;
        if (in_place) {  // pack only a partial last sliver
          const int64_t full = mc - mc % MR;
          if (full < mc) pack_a(g, m0 + ic + full, pc, mc - full, kc, Ap);
          macro_kernel(g, m0 + ic, n0 + jc, mc, nc, kc, Ap, g.A + (m0 + ic) * g.lda + pc, Bp,
                       b_rows, beta, last, cb, ldcb);
        } else {
          pack_a(g, m0 + ic, pc, mc, kc, Ap);
          macro_kernel(g, m0 + ic, n0 + jc, mc, nc, kc, Ap, static_cast<const T*>(nullptr), Bp,
                       static_cast<const T*>(nullptr), beta, last, cb, ldcb);
        }
        if (last && g.finish_blocks()) g.finish_at(cb, ldcb, m0 + ic, n0 + jc, mc, nc);
      }
    }
  }
}

// Cost of a pm x pn thread grid, in approximate cycles of the slowest thread:
// micro-tiles (MR * NR multiply-adds per k step at kFmaBytesPerCycle, e.g. 6
// cycles for a 6 x 16 float tile) plus packing (A once per NC block, B once;
// measured ~0.6 and ~0.3 cycles per element with the 6-wide A slivers of the
// AVX2 kernels, used for every family).
template <typename T>
double grid_cost(const BlockSizes& b, int64_t M, int64_t N, int64_t K, int64_t pm, int64_t pn) {
  // Zen 4: two 256-bit FMA pipes (512-bit FMAs are split over both).
  constexpr double kFmaBytesPerCycle = 64.0;
  const int64_t MR = b.MR, NR = b.NR;
  const int64_t mtiles = ceil_div(ceil_div(M, MR), pm);
  const int64_t ntiles = ceil_div(ceil_div(N, NR), pn);
  const int64_t m = std::min(M, mtiles * MR), n = std::min(N, ntiles * NR);
  const double k = static_cast<double>(K);
  const double cycles_per_k =
      static_cast<double>(MR * NR) * static_cast<double>(sizeof(T)) / kFmaBytesPerCycle;
  const double compute = cycles_per_k * static_cast<double>(mtiles * ntiles) * k;
  const double pack_a = 0.6 * static_cast<double>(m) * k * static_cast<double>(ceil_div(n, b.NC));
  const double pack_b = 0.3 * static_cast<double>(n) * k;
  return compute + pack_a + pack_b;
}

// The blocked algorithm on nt threads: C is cut into a pm x pn grid of
// rectangles on MR / NR boundaries (pm * pn <= nt, shape by grid_cost), the
// pieces of one job; each runs gemm_blocked with its thread's packing buffers.
// Small M (one MC block, e.g. a batch of 64) therefore splits along N and
// large M along M.
//
// Each thread packs the operand it shares with the others itself (e.g. all of
// A when N is split). The BLIS alternative, packing each shared panel once
// cooperatively with barriers, measured 3-44% slower on the 2-vCPU Zen 4 VM
// this was tuned on (cross-core traffic for the shared panels, barrier waits).
template <typename T>
void gemm_blocked_parallel(const Problem<T>& g, int nt) {
  const int64_t MR = g.ks.blocks.MR, NR = g.ks.blocks.NR;
  const int64_t M = g.M, N = g.N;
  int64_t pm = 1, pn = 1;
  double best = grid_cost<T>(g.ks.blocks, M, N, g.K, 1, 1);
  for (int64_t m_parts = 1; m_parts <= nt; ++m_parts) {
    const int64_t n_parts = nt / m_parts;
    if (m_parts > ceil_div(M, MR) || n_parts > ceil_div(N, NR)) continue;
    const double cost = grid_cost<T>(g.ks.blocks, M, N, g.K, m_parts, n_parts);
    if (cost < best) best = cost, pm = m_parts, pn = n_parts;
  }
  const int64_t parts = pm * pn;
  if (parts <= 1) {
    gemm_blocked(g, 0, M, 0, N);
    return;
  }
  const int64_t mt = ceil_div(M, MR), ntl = ceil_div(N, NR);
  parallel_for(parts, nt, [&](int64_t part) {
    const int64_t pi = part / pn, pj = part % pn;
    const int64_t m0 = std::min(M, pi * mt / pm * MR);
    const int64_t m1 = std::min(M, (pi + 1) * mt / pm * MR);
    const int64_t n0 = std::min(N, pj * ntl / pn * NR);
    const int64_t n1 = std::min(N, (pj + 1) * ntl / pn * NR);
    if (m0 < m1 && n0 < n1) gemm_blocked(g, m0, m1, n0, n1);
  });
}

}  // namespace
}  // namespace pyfastnn
