// Blocked GEMM (Goto & van de Geijn / BLIS layering, see gemm_kernel.hpp):
// packing of op(A) and op(B) into cache-sized panels, a macro-kernel over
// MC x NC x KC blocks and a register-blocked MR x NR micro-kernel chosen at run
// time (AVX-512, AVX2/FMA or portable C++). The tile and block sizes come with
// the kernel family (KernelSet::blocks). The packing routines absorb trans_a /
// trans_b, so all four transpose cases share one macro- and micro-kernel.
//
// Problems where packing does not pay go through matrix-vector kernels
// instead: M == 1 (row vector @ matrix), N == 1, K == 1 (outer product) and
// tiny products.
//
// Threads: one OpenMP region per call, at the outermost level. The blocked
// path cuts C into one rectangle per thread (see gemm_blocked_parallel); the
// matrix-vector paths split their output range. Below kParallelMinFlops
// (blocked), kParallelMinGemvElems (matrix-vector) or kParallelMinOuterElems
// (outer product) everything runs on the calling thread. Packing memory is per
// OS thread and reused across calls (thread_local): concurrent calls share
// nothing, and no thread waits for another inside a call.
#include "gemm/gemm.hpp"

#include <omp.h>

#include <algorithm>
#include <atomic>
#include <numeric>
#include <cstdlib>
#include <new>

#include "gemm/gemm_kernel.hpp"
#include "runtime/kernel_registry.hpp"
#include "runtime/threads.hpp"

namespace pyfastnn {
namespace {

using gemm_detail::BlockSizes;
using gemm_detail::KernelSet;

// ---- tuning constants --------------------------------------------------------

// Below this many flops (2*M*N*K) the blocked path runs single-threaded: the
// fork/join of an OpenMP team (a few microseconds) would eat the gain.
// Measured crossover (float, 2 threads): n^3 products gain from n ~ 80
// (1 MFLOP, ~11 us single-threaded); 64^3 (0.52 MFLOP) is faster on one
// thread. The small layer of a 784-256-26 training step (64x256x26 products,
// 0.85 MFLOP, edge tiles) gains: its backward pass took 27-31 us on two
// threads against 36-46 on one.
constexpr double kParallelMinFlops = 0.75e6;

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

// A KC block may grow up to this factor over the family's KC so that K splits
// into equal blocks (K = 784 -> 3 x 262 instead of 256 + 256 + 256 + 16).
constexpr double kKcSlack = 1.25;

// ---- small helpers -----------------------------------------------------------

constexpr int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
constexpr int64_t round_up(int64_t a, int64_t b) { return ceil_div(a, b) * b; }

// Size of each of the ceil(n / block) equal blocks n splits into.
int64_t even_block(int64_t n, int64_t block) { return ceil_div(n, ceil_div(n, block)); }

// Hint that the line holding p will soon be written.
inline void prefetch_for_write(const void* p) {
#if defined(__GNUC__) || defined(__clang__)
  __builtin_prefetch(p, 1);
#else
  (void)p;
#endif
}

// The kernel family's tables (runtime/kernel_registry.hpp): each ISA's
// kernels_f32() / kernels_f64() (gemm_kernel.hpp) fill them once.
const KernelTable<KernelSet<float>> gemm_kernels_f32(
    "gemm", "float32", gemm_detail::portable::kernels_f32,
    PYFASTNN_X86_ONLY(gemm_detail::avx2::kernels_f32),
    PYFASTNN_X86_ONLY(gemm_detail::avx512::kernels_f32));
const KernelTable<KernelSet<double>> gemm_kernels_f64(
    "gemm", "float64", gemm_detail::portable::kernels_f64,
    PYFASTNN_X86_ONLY(gemm_detail::avx2::kernels_f64),
    PYFASTNN_X86_ONLY(gemm_detail::avx512::kernels_f64));

template <typename T>
const KernelSet<T>& active_kernels();
template <>
const KernelSet<float>& active_kernels<float>() {
  return *gemm_kernels_f32;
}
template <>
const KernelSet<double>& active_kernels<double>() {
  return *gemm_kernels_f64;
}

// ---- per-thread packing memory -----------------------------------------------

// 64-byte aligned scratch memory that grows on demand and is kept for the next
// call, so repeated products of the same size do not allocate.
class Workspace {
 public:
  Workspace() = default;
  Workspace(const Workspace&) = delete;
  Workspace& operator=(const Workspace&) = delete;
  ~Workspace() { std::free(data_); }

  void* get(size_t bytes) {
    if (bytes > capacity_) {
      std::free(data_);
      data_ = nullptr;
      capacity_ = 0;
      const size_t size = static_cast<size_t>(round_up(static_cast<int64_t>(bytes), 4096));
      data_ = std::aligned_alloc(64, size);
      if (data_ == nullptr) throw std::bad_alloc();
      capacity_ = size;
    }
    return data_;
  }

  bool busy = false;

 private:
  void* data_ = nullptr;
  size_t capacity_ = 0;
};

// One per OS thread (the caller and each OpenMP worker), so concurrent calls
// from several Python threads never share packing buffers.
thread_local Workspace tls_workspace;
// The calling thread's partial sums of a split over k (gemm_split_k), shared
// with its team for one call.
thread_local Workspace tls_partials;

// One of the calling thread's workspaces for one computation. If it is
// already in use (gemm called again from inside an epilogue), a private one
// is used.
class WorkspaceLease {
 public:
  explicit WorkspaceLease(Workspace& tls = tls_workspace) : ws_(tls.busy ? &own_ : &tls) {
    ws_->busy = true;
  }
  ~WorkspaceLease() { ws_->busy = false; }
  WorkspaceLease(const WorkspaceLease&) = delete;
  WorkspaceLease& operator=(const WorkspaceLease&) = delete;

  template <typename T>
  T* get(int64_t elems) {
    return static_cast<T*>(ws_->get(static_cast<size_t>(elems) * sizeof(T)));
  }

 private:
  Workspace own_;
  Workspace* ws_;
};

// ---- the problem -------------------------------------------------------------

template <typename T>
struct Problem {
  bool ta, tb;
  int64_t M, N, K;
  const T* A;
  int64_t lda;
  const T* B;
  int64_t ldb;
  T beta;
  T* C;
  int64_t ldc;
  const GemmEpilogue<T>* epi;  // nullptr when there is nothing to apply
  KernelSet<T> ks;
  bool consume = false;  // gemm_consume: whole blocks to epi, C only as scratch

  // The epilogue on rows [i0, i0 + m), columns [j0, j0 + n) of C, held at c
  // (row stride ldc_c): in C itself (finish) or in a scratch block.
  void finish_at(T* c, int64_t ldc_c, int64_t i0, int64_t j0, int64_t m, int64_t n) const {
    if (epi != nullptr && m > 0 && n > 0) epi->apply(epi->ctx, c, ldc_c, i0, j0, m, n);
  }
  void finish(int64_t i0, int64_t j0, int64_t m, int64_t n) const {
    finish_at(C + i0 * ldc + j0, ldc, i0, j0, m, n);
  }
  bool finish_blocks() const { return epi != nullptr && consume; }
  bool may_discard_c() const { return finish_blocks() && beta == T(0); }
};

// Runs f(begin, end) on up to nt threads over a split of [0, n) into ranges
// whose boundaries are multiples of `align`. Exceptions are carried out of the
// parallel region and rethrown (as std::bad_alloc: the only one possible).
template <class F>
void parallel_ranges(int64_t n, int64_t align, int nt, const F& f) {
  const int64_t units = ceil_div(n, align);
  if (nt > units) nt = static_cast<int>(units);
  if (nt <= 1) {
    f(int64_t{0}, n);
    return;
  }
  std::atomic<bool> failed{false};
#pragma omp parallel num_threads(nt)
  {
    const auto [b, e] = split_range(n, align, omp_get_thread_num(), omp_get_num_threads());
    if (b < e) {
      try {
        f(b, e);
      } catch (...) {
        failed.store(true);
      }
    }
  }
  if (failed.load()) throw std::bad_alloc();
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
        // Edge tile: full tile into a local buffer, then the valid part.
        if (in_place)
          micro_rows(kc, A_rows + ir * lda, lda, bs, tile, NR, T(0));
        else
          micro(kc, as, bs, tile, NR, T(0));
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
// rectangles on MR / NR boundaries (pm * pn <= nt, shape by grid_cost) and each
// thread runs gemm_blocked on its own rectangle with its own packing buffers.
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
  std::atomic<bool> failed{false};
#pragma omp parallel num_threads(static_cast<int>(parts))
  {
    // The team may be smaller than asked for (nested parallelism): loop over parts.
    const int64_t P = omp_get_num_threads();
    for (int64_t part = omp_get_thread_num(); part < parts; part += P) {
      const int64_t pi = part / pn, pj = part % pn;
      const int64_t m0 = std::min(M, pi * mt / pm * MR);
      const int64_t m1 = std::min(M, (pi + 1) * mt / pm * MR);
      const int64_t n0 = std::min(N, pj * ntl / pn * NR);
      const int64_t n1 = std::min(N, (pj + 1) * ntl / pn * NR);
      if (m0 < m1 && n0 < n1) {
        try {
          gemm_blocked(g, m0, m1, n0, n1);
        } catch (...) {  // std::bad_alloc from the workspace
          failed.store(true);
        }
      }
    }
  }
  if (failed.load()) throw std::bad_alloc();
}

// ---- split over k ---------------------------------------------------------------

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
// Thread t computes the product over the t-th KC block of K: thread 0 into C
// (with beta), the others into partial sums P_t (M x N). Then each thread adds
// P_1, P_2, ... in order into its column range of C and applies the epilogue
// there. On one thread the blocked path adds the KC blocks' products into C
// in the same order (C = P_t + C, per element), so the bits are the same.
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
  std::atomic<bool> failed{false};
#pragma omp parallel num_threads(static_cast<int>(parts))
  {
    // The team may be smaller than asked for (nested parallelism): loop over parts.
    const int64_t P = omp_get_num_threads(), me = omp_get_thread_num();
    for (int64_t t = me; t < parts; t += P) {
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
      try {
        gemm_blocked(h, 0, M, 0, N);
      } catch (...) {  // std::bad_alloc from the workspace
        failed.store(true);
      }
    }
#pragma omp barrier
    const auto [j0, j1] = split_range(N, kLine, me, P);
    if (j0 < j1 && !failed.load()) {
      for (int64_t t = 1; t < parts; ++t) {
        const T* part = partials + (t - 1) * M * N;
        for (int64_t i = 0; i < M; ++i) {
          T* c = g.C + i * g.ldc;
          const T* p = part + i * N;
          for (int64_t j = j0; j < j1; ++j) c[j] = p[j] + c[j];
        }
      }
      g.finish(0, j0, M, j1 - j0);
    }
  }
  if (failed.load()) throw std::bad_alloc();
}

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
