// The optimiser kernels' one source, compiled once per ISA by
// optim_portable.cpp, optim_avx2.cpp and optim_avx512.cpp (each includes this
// file and returns make_kernels<T>(); see optim_table.hpp). Everything here has
// internal linkage, so each file keeps its own copy, compiled for its ISA; the
// rules it inlines (optim_kernels.hpp) are PYFASTNN_ALWAYS_INLINE for the same
// reason.
//
//   update_block(rule, p (m, ld), ld, g (m, ldg), ldg, s1, s2 (m, ld), m, n):
//     apply_update on each of the m rows of n values (a finished GEMM block)
//   add_penalty_grad(w (m, ldw), ldw, l1, l2, g (m, ldg), ldg, m, n):
//     g += the elastic-net penalty's gradient at w, block of m rows of n
//     (w and g do not overlap)
//   update_rows_forward(step, W, s1, s2 (in, out), in, out, x (in), z (out), j0, j1):
//     the deferred step of W fused with z = x @ W, columns [j0, j1)
//     (nn/update_forward.hpp)
//   sum_squares(x (n), n): sum of x^2 in double, in kSquareLanes fixed lanes
//     and a fixed tree
//   deferred_sum_squares(step, W (in, out), out, i0, i1): sum over rows
//     [i0, i1) of g^2, g = h[i] dz + penalty gradient at W[i, :] (the
//     deferred step's gradient), in double
//   penalty_sum(w (n), n, l1, l2): l2 sum w^2 + l1 sum |w| in double, in
//     kPenaltyLanes fixed lanes (the elastic-net penalty of nn/dense.hpp)
#pragma once

#include <cmath>
#include <cstdint>

#include "nn/kernels/optim_table.hpp"
#include "nn/optim_kernels.hpp"
#include "nn/update_forward.hpp"
#include "runtime/cpu.hpp"

namespace pyfastnn {
namespace optim_detail {
namespace {

// The rules' square root and division dominate the block update; the compiler
// vectorises apply_update for the file's ISA.
template <typename T>
void update_block(const UpdateRule<T>& r, T* p, int64_t ld, const T* g, int64_t ldg, T* s1,
                  T* s2, int64_t m, int64_t n) {
  for (int64_t i = 0; i < m; ++i) {
    const int64_t at = i * ld;
    apply_update<T>(r, p + at, g + i * ldg, s1 != nullptr ? s1 + at : nullptr,
                    s2 != nullptr ? s2 + at : nullptr, n);
  }
}

// The penalty gradient added to a finished block of a weight gradient. As a
// generic loop (the baseline's SSE2, one value per instruction: the sign's
// branches kept it scalar) it took 9% of the CPU time of a 784-100-10
// batch-200 Adam epoch (perf, AVX-512 machine); the blend form below
// vectorises in each ISA's file and gives the same bits.
template <typename T>
void add_penalty_grad(const T* w, int64_t ldw, T l1, T l2, T* g, int64_t ldg, int64_t m,
                      int64_t n) {
  for (int64_t i = 0; i < m; ++i) {
    const T* __restrict wr = w + i * ldw;
    T* __restrict gr = g + i * ldg;
#pragma omp simd
    for (int64_t j = 0; j < n; ++j) gr[j] += penalty_grad(wr[j], l1, l2);
  }
}

// Rows of W stepped per pass over z: z is loaded and stored once for this
// many rows (one store per vector of z per block, the rest stay in registers).
constexpr int64_t kRowBlock = 4;

template <typename T>
using Kind = typename UpdateRule<T>::Kind;

// Rows [i, i + R) of W on columns [j0, j1): step them and, if Forward, add
// their terms x[i + r] W[i + r, :] to z.
template <typename T, Kind<T> K, bool Penalised, bool Forward, int R>
PYFASTNN_ALWAYS_INLINE void step_rows(const DeferredStep<T>& st, T* W, T* s1, T* s2, int64_t out,
                                      const T* x, T* z, int64_t i, int64_t j0, int64_t j1) {
  T hp[R], xr[R];
  T* w[R];
  T* a[R];
  T* b[R];
  for (int r = 0; r < R; ++r) {
    hp[r] = st.h[i + r];
    xr[r] = Forward ? x[i + r] : T(0);
    w[r] = W + (i + r) * out;
    a[r] = uses_s1<T>(K) ? s1 + (i + r) * out : nullptr;
    b[r] = uses_s2<T>(K) ? s2 + (i + r) * out : nullptr;
  }
  const T* dz = st.dz;
#pragma GCC ivdep
  for (int64_t j = j0; j < j1; ++j) {
    const T d = dz[j];
    T acc = Forward ? z[j] : T(0);
    for (int r = 0; r < R; ++r) {
      const T p = w[r][j];
      T g = hp[r] * d;
      if (Penalised) g += penalty_grad(p, st.l1, st.l2);
      T sa = uses_s1<T>(K) ? a[r][j] : T(0);
      T sb = uses_s2<T>(K) ? b[r][j] : T(0);
      const T stepped = rule_step<T, K>(st.rule, p, g, sa, sb);
      if (uses_s1<T>(K)) a[r][j] = sa;
      if (uses_s2<T>(K)) b[r][j] = sb;
      w[r][j] = stepped;
      if (Forward) acc += xr[r] * stepped;
    }
    if (Forward) z[j] = acc;
  }
}

template <typename T, Kind<T> K, bool Penalised, bool Forward>
PYFASTNN_ALWAYS_INLINE void step_all_rows(const DeferredStep<T>& st, T* W, T* s1, T* s2,
                                          int64_t in, int64_t out, const T* x, T* z, int64_t j0,
                                          int64_t j1) {
  if (Forward)
    for (int64_t j = j0; j < j1; ++j) z[j] = T(0);
  int64_t i = 0;
  for (; i + kRowBlock <= in; i += kRowBlock)
    step_rows<T, K, Penalised, Forward, kRowBlock>(st, W, s1, s2, out, x, z, i, j0, j1);
  for (; i < in; ++i) step_rows<T, K, Penalised, Forward, 1>(st, W, s1, s2, out, x, z, i, j0, j1);
}

template <typename T, Kind<T> K>
PYFASTNN_ALWAYS_INLINE void step_all_rows(const DeferredStep<T>& st, T* W, T* s1, T* s2,
                                          int64_t in, int64_t out, const T* x, T* z, int64_t j0,
                                          int64_t j1) {
  const bool penalised = st.l1 != T(0) || st.l2 != T(0);
  if (penalised && x != nullptr)
    step_all_rows<T, K, true, true>(st, W, s1, s2, in, out, x, z, j0, j1);
  else if (penalised)
    step_all_rows<T, K, true, false>(st, W, s1, s2, in, out, x, z, j0, j1);
  else if (x != nullptr)
    step_all_rows<T, K, false, true>(st, W, s1, s2, in, out, x, z, j0, j1);
  else
    step_all_rows<T, K, false, false>(st, W, s1, s2, in, out, x, z, j0, j1);
}

template <typename T>
void update_rows_forward(const DeferredStep<T>& st, T* W, T* s1, T* s2, int64_t in, int64_t out,
                         const T* x, T* z, int64_t j0, int64_t j1) {
  switch (st.rule.kind) {
    case Kind<T>::sgd:
      return step_all_rows<T, Kind<T>::sgd>(st, W, s1, s2, in, out, x, z, j0, j1);
    case Kind<T>::momentum:
      return step_all_rows<T, Kind<T>::momentum>(st, W, s1, s2, in, out, x, z, j0, j1);
    case Kind<T>::nesterov:
      return step_all_rows<T, Kind<T>::nesterov>(st, W, s1, s2, in, out, x, z, j0, j1);
    case Kind<T>::adam:
      return step_all_rows<T, Kind<T>::adam>(st, W, s1, s2, in, out, x, z, j0, j1);
    case Kind<T>::adamw:
      return step_all_rows<T, Kind<T>::adamw>(st, W, s1, s2, in, out, x, z, j0, j1);
    case Kind<T>::rmsprop:
      return step_all_rows<T, Kind<T>::rmsprop>(st, W, s1, s2, in, out, x, z, j0, j1);
    case Kind<T>::rmsprop_momentum:
      return step_all_rows<T, Kind<T>::rmsprop_momentum>(st, W, s1, s2, in, out, x, z, j0, j1);
  }
}

// Independent double accumulators of the sums of squares (lane k holds the
// values i = k mod kSquareLanes), added in a fixed tree at the end
// (lane_total): the compiler vectorises the lanes, and the order of the
// additions (hence the bits) is the same on every ISA. 32 lanes (4 AVX-512 or
// 8 AVX2 vectors of doubles) cover the addition's latency. With 8 lanes added
// from left to right, every addition waited for the one before: the squares
// of gradient clipping (one sum per row of 256 gradients) took 10% of the CPU
// time of a clipped 784-256-26 batch-64 epoch (perf, AVX-512).
constexpr int kSquareLanes = 32;

// The squares of `chunks` whole chunks of kSquareLanes values into the lanes.
template <typename T>
PYFASTNN_ALWAYS_INLINE void add_square_chunks(const T* x, int64_t chunks,
                                              double* __restrict acc) {
  for (int64_t c = 0; c < chunks; ++c) {
    const T* b = x + c * kSquareLanes;
#pragma omp simd
    for (int k = 0; k < kSquareLanes; ++k) acc[k] += double(b[k]) * double(b[k]);
  }
}

// The squares of n values into the lanes (the last n mod kSquareLanes into
// the first lanes).
template <typename T>
PYFASTNN_ALWAYS_INLINE void add_squares(const T* x, int64_t n, double* __restrict acc) {
  const int64_t chunks = n / kSquareLanes;
  add_square_chunks(x, chunks, acc);
  for (int64_t i = chunks * kSquareLanes, k = 0; i < n; ++i, ++k)
    acc[k] += double(x[i]) * double(x[i]);
}

// The lanes' total by halving (lane k + lane k + width, width = 16, 8, ..,
// 1): five rounds of vector additions instead of 31 additions in a chain.
// Each round has its own array of constant size, so that the compiler keeps
// them in registers (one array updated in place went through the stack).
static_assert(kSquareLanes == 32, "lane_total halves 32 lanes");
PYFASTNN_ALWAYS_INLINE double lane_total(const double* acc) {
  double a16[16], a8[8], a4[4];
#pragma GCC unroll 16
  for (int k = 0; k < 16; ++k) a16[k] = acc[k] + acc[k + 16];
#pragma GCC unroll 8
  for (int k = 0; k < 8; ++k) a8[k] = a16[k] + a16[k + 8];
#pragma GCC unroll 4
  for (int k = 0; k < 4; ++k) a4[k] = a8[k] + a8[k + 4];
  return (a4[0] + a4[2]) + (a4[1] + a4[3]);
}

// The whole lanes' total, then the last n mod kSquareLanes squares in order
// (a short vector is summed from left to right, as the reference step does).
template <typename T>
double sum_squares(const T* x, int64_t n) {
  alignas(64) double acc[kSquareLanes] = {};
  const int64_t whole = n - n % kSquareLanes;
  add_square_chunks(x, whole / kSquareLanes, acc);
  double total = lane_total(acc);
  for (int64_t i = whole; i < n; ++i) total += double(x[i]) * double(x[i]);
  return total;
}

// Rows of the deferred gradient formed this many values at a time before
// their squares are added (a buffer that stays in L1).
constexpr int64_t kGradChunk = 256;

template <typename T>
double deferred_sum_squares(const DeferredStep<T>& st, const T* W, int64_t out, int64_t i0,
                            int64_t i1) {
  alignas(64) double acc[kSquareLanes] = {};
  alignas(64) T g[kGradChunk];
  for (int64_t i = i0; i < i1; ++i) {
    const T h = st.h[i];
    const T* w = W + i * out;
    for (int64_t j0 = 0; j0 < out; j0 += kGradChunk) {
      const int64_t m = out - j0 < kGradChunk ? out - j0 : kGradChunk;
      for (int64_t j = 0; j < m; ++j)
        g[j] = h * st.dz[j0 + j] + penalty_grad(w[j0 + j], st.l1, st.l2);
      add_squares(g, m, acc);
    }
  }
  return lane_total(acc);
}

// The penalty's two sums in kPenaltyLanes independent lanes each (lane k
// holds the values i = k mod kPenaltyLanes), added in lane order: the
// additions no longer wait on one another (one accumulator was bound by the
// latency of the addition: 46% of a batch-1 epoch with l2) and their order,
// hence the bits, is the same on every ISA. 32 lanes: 8 AVX2 or 4 AVX-512
// vectors of doubles, enough to cover the addition's latency. A sum whose
// coefficient is 0 is skipped. Measured (native epoch, 784-256-26 float32,
// 3000 rows, AVX-512, shared 2-core machine, 4 alternating pairs against one
// accumulator, median ms before -> after, per-pair speed-ups):
//   batch 1,  l2 1e-4: 944 -> 310 (3.00 3.09 3.15 2.80)
//   batch 1,  l1 1e-4: 999 -> 313 (3.45 3.10 2.77 3.15)
//   batch 64, l2 1e-4: 136 -> 121 (1.15 1.23 1.09 1.07)
//   batch 64, l1 1e-4:  88 ->  83 (1.06 1.06 1.07 1.02)
//   no penalty: unchanged (batch 1: 88 -> 84, batch 64: 45 -> 41, noise).
constexpr int kPenaltyLanes = 32;

template <typename T, bool L1, bool L2>
PYFASTNN_ALWAYS_INLINE void add_penalty_sums(const T* w, int64_t n, double* __restrict sq,
                                             double* __restrict abs) {
  int64_t i = 0;
  for (; i + kPenaltyLanes <= n; i += kPenaltyLanes) {
    const T* b = w + i;
#pragma omp simd
    for (int k = 0; k < kPenaltyLanes; ++k) {
      const double v = double(b[k]);
      if (L2) sq[k] += v * v;
      if (L1) abs[k] += std::fabs(v);
    }
  }
  for (int k = 0; i < n; ++i, ++k) {
    const double v = double(w[i]);
    if (L2) sq[k] += v * v;
    if (L1) abs[k] += std::fabs(v);
  }
}

PYFASTNN_ALWAYS_INLINE double penalty_lane_total(const double* acc) {
  double total = 0;
  for (int k = 0; k < kPenaltyLanes; ++k) total += acc[k];
  return total;
}

template <typename T>
double penalty_sum(const T* w, int64_t n, double l1, double l2) {
  alignas(64) double sq[kPenaltyLanes] = {};
  alignas(64) double abs[kPenaltyLanes] = {};
  if (l1 != 0 && l2 != 0)
    add_penalty_sums<T, true, true>(w, n, sq, abs);
  else if (l2 != 0)
    add_penalty_sums<T, false, true>(w, n, sq, abs);
  else if (l1 != 0)
    add_penalty_sums<T, true, false>(w, n, sq, abs);
  double total = 0;
  if (l2 != 0) total += l2 * penalty_lane_total(sq);
  if (l1 != 0) total += l1 * penalty_lane_total(abs);
  return total;
}

template <typename T>
OptimizerKernels<T> make_kernels() {
  OptimizerKernels<T> k;
  k.update_block = update_block<T>;
  k.add_penalty_grad = add_penalty_grad<T>;
  k.update_rows_forward = update_rows_forward<T>;
  k.sum_squares = sum_squares<T>;
  k.deferred_sum_squares = deferred_sum_squares<T>;
  k.penalty_sum = penalty_sum<T>;
  return k;
}

}  // namespace
}  // namespace optim_detail
}  // namespace pyfastnn
