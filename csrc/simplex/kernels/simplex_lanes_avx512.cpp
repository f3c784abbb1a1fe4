// AVX-512 forward kernels of sparsemax and relumax_b for short rows (K up to
// kSparsemaxLaneRowsMaxK / kRelumaxLaneRowsMaxK), with one row per vector lane.
// Compiled with -mavx512f -mavx512vl -mavx512bw -mavx512dq -mfma; called only
// when active_isa() is avx512.
//
// Shapes: Z (rows, K) -> P (rows, K), row-major, K a compile-time constant here.
// A block is L rows (L = lanes: 16 float, 8 double), i.e. L K contiguous
// elements = exactly K vectors ("flat" vectors; see simplex_lanes_avx512.hpp).
// Per block:
//   1. the L x K block is transposed in registers     -> K "column" vectors
//      (lane r of column k = Z[r][k]; gathers are far slower on Zen 4)
//   2. the per-row statistics are computed on the columns, all L rows in lock
//      step, with no horizontal operation and no branch:
//        relumax:   m = max_k z_k, s = 1 / sum_k relu((z_k - m) / T + b)
//        sparsemax: m = max_k z_k, y_k = (z_k - m) / T; tau by a sorting network
//                   (K <= kNetworkMaxK) or Michelot's pruning in lock step
//   3. the output is computed on the flat vectors, each lane taking its row's
//      statistics by one permute (lane j of flat vector v is row (L v + j) / K).
// A row with a NaN, a +inf or only -inf entries gets a NaN statistic in its own
// lane (so NaN outputs) without touching its neighbours. The last n % L rows go
// through a zero-padded block on the stack. K > 16 (float) / 8 (double) rows span
// several tiles; beyond ~30 columns the columns spill to the stack (L1).
//
// Everything here has internal linkage and uses no standard-library templates
// that emit code (see gemm_kernel_avx512.cpp).
#ifdef PYFASTNN_X86

#include <immintrin.h>

#include <cstdint>
#include <utility>

#include "simplex/kernels/simplex_lanes_avx512.hpp"
#include "simplex/simplex_rows.hpp"

namespace pyfastnn {
namespace simplex_detail {
namespace avx512 {
namespace {

// Row lengths up to which sparsemax sorts the rows (a sorting network) to find
// the threshold; longer rows use Michelot's pruning, whose passes cost less than
// a network of K log^2 K comparators that no longer fits in the registers.
constexpr int kNetworkMaxK = 16;

// ---- sorting network -----------------------------------------------------------

// Batcher's odd-even merge sort of next_pow2(K) wires, without the comparators
// that touch a wire >= K (those wires would hold -inf, the smallest values, and
// their comparators would change nothing).
template <int K>
struct SortingNetwork {
  static constexpr int kMaxComparators = 64;  // Batcher on 16 wires has 63
  int a[kMaxComparators] = {}, b[kMaxComparators] = {};
  int size = 0;
  constexpr SortingNetwork() {
    int n = 1;
    while (n < K) n *= 2;
    for (int p = 1; p < n; p *= 2)
      for (int k = p; k >= 1; k /= 2)
        for (int j = k % p; j + k < n; j += 2 * k)
          for (int i = 0; i < k && i < n - j - k; ++i)
            if ((i + j) / (2 * p) == (i + j + k) / (2 * p) && i + j + k < K) {
              a[size] = i + j;
              b[size] = i + j + k;
              ++size;
            }
  }
};
using LargestNetwork = SortingNetwork<kNetworkMaxK>;
static_assert(LargestNetwork().size <= LargestNetwork::kMaxComparators,
              "sorting network table too small");

template <typename S, int K, size_t... I>
inline void sort_descending(typename S::V* c, std::index_sequence<I...>) {
  constexpr SortingNetwork<K> net{};
  (void)c;  // K = 1: no comparator reads it
  (([&] {
     const typename S::V hi = S::max(c[net.a[I]], c[net.b[I]]);
     c[net.b[I]] = S::min(c[net.a[I]], c[net.b[I]]);
     c[net.a[I]] = hi;
   }()),
   ...);
}

// ---- one block of L rows ---------------------------------------------------------

// Per-row statistics of one block (lane r = row r).
template <typename S>
struct RowStats {
  typename S::V m, second;  // relumax: m, 1 / sum u; sparsemax: m, tau
};

// c[k] = column k of the block z, m = the row maxima.
template <typename S, int K>
inline void load_columns(const typename S::T* z, typename S::V* c, typename S::V& m) {
  load_columns<S, K>(z, c);
  m = c[0];
#pragma GCC unroll 64
  for (int k = 1; k < K; ++k) m = S::max(m, c[k]);
}

template <typename S, int K>
inline RowStats<S> relumax_stats(const typename S::T* z, typename S::V vb, typename S::V vi) {
  using V = typename S::V;
  V c[K], m;
  load_columns<S, K>(z, c, m);
  V sum = S::zero();
#pragma GCC unroll 64
  for (int k = 0; k < K; ++k)  // a NaN (also inf - inf) stays in u, then in the sum
    sum = S::add(sum, S::max(S::zero(), S::fmadd(S::sub(c[k], m), vi, vb)));
  return {m, S::div(S::set1(1), sum)};
}

// Sparsemax thresholds of the rows y (columns y[k], max 0 in every lane), lanes
// independent. Sorting network: sort y (descending), S_k = y_(1) + ... + y_(k);
// the support is the k with k y_(k) > S_k - 1 (a prefix), tau = (S_|S| - 1) / |S|.
template <typename S, int K>
inline typename S::V threshold_by_network(typename S::V* y) {
  using T = typename S::T;
  using V = typename S::V;
  sort_descending<S, K>(y, std::make_index_sequence<SortingNetwork<K>().size>{});
  const V one = S::set1(T(1));
  V sum = S::zero(), support_sum = y[0], support = one;  // y_(1) = 0 is always in
#pragma GCC unroll 64
  for (int k = 0; k < K; ++k) {
    sum = S::add(sum, y[k]);
    const V vk = S::set1(T(k + 1));
    const auto in = S::gt(S::mul(vk, y[k]), S::sub(sum, one));
    support_sum = S::select(support_sum, in, sum);
    support = S::select(support, in, vk);
  }
  return S::div(S::sub(support_sum, one), support);
}

// Michelot's pruning in lock step: tau = (sum of y > tau - 1) / #(y > tau) from
// tau = -1 <= the threshold, until no lane's set changes (each other pass drops an
// entry, so at most K + 1 passes; `bad` lanes are not waited for).
template <typename S, int K, typename Mask>
inline typename S::V threshold_by_pruning(const typename S::V* y, Mask bad) {
  using T = typename S::T;
  using V = typename S::V;
  const V one = S::set1(T(1));
  V tau = S::set1(T(kCandidateFloor)), count = S::zero();
  for (int pass = 0; pass <= K; ++pass) {
    V sum = S::zero(), kept = S::zero();
#pragma GCC unroll 64
    for (int k = 0; k < K; ++k) {
      const auto in = S::gt(y[k], tau);
      sum = S::add_if(sum, in, y[k]);
      kept = S::add_if(kept, in, one);
    }
    const Mask changed = S::neq(kept, count) & static_cast<Mask>(~bad);
    count = kept;
    tau = S::div(S::sub(sum, one), kept);
    if (!changed) break;
  }
  return tau;
}

template <typename S, int K>
inline RowStats<S> sparsemax_stats(const typename S::T* z, typename S::V vi) {
  using T = typename S::T;
  using V = typename S::V;
  V y[K], m;
  load_columns<S, K>(z, y, m);
  V total = S::zero();
#pragma GCC unroll 64
  for (int k = 0; k < K; ++k) {
    y[k] = S::mul(S::sub(y[k], m), vi);
    total = S::add(total, y[k]);  // NaN iff the row has a NaN, a +inf or only -inf
  }
  const auto bad = S::unord(total, total);
  V tau;
  if constexpr (K <= kNetworkMaxK)
    tau = threshold_by_network<S, K>(y);
  else
    tau = threshold_by_pruning<S, K>(y, bad);
  return {m, S::select(tau, bad, S::set1(static_cast<T>(__builtin_nan(""))))};
}

// Writes the block from its flat vectors: f(x, m, second) per element.
template <typename S, int K, typename F>
inline void write_block(const typename S::T* z, const RowStats<S>& st, typename S::T* p, F f) {
#pragma GCC unroll 64
  for (int v = 0; v < K; ++v) {
    const __m512i rows = rows_of_flat<S>(v, K);
    const typename S::V x = S::loadu(z + v * S::W);
    S::storeu(p + v * S::W, f(x, S::permute(rows, st.m), S::permute(rows, st.second)));
  }
}

template <typename S, int K>
inline void relumax_block(const typename S::T* z, typename S::V vb, typename S::V vi,
                          typename S::T* p) {
  using V = typename S::V;
  const RowStats<S> st = relumax_stats<S, K>(z, vb, vi);
  write_block<S, K>(z, st, p, [&](V x, V m, V scale) {
    return S::mul(S::max(S::zero(), S::fmadd(S::sub(x, m), vi, vb)), scale);
  });
}

template <typename S, int K>
inline void sparsemax_block(const typename S::T* z, typename S::V vi, typename S::T* p) {
  using V = typename S::V;
  const RowStats<S> st = sparsemax_stats<S, K>(z, vi);
  write_block<S, K>(z, st, p, [&](V x, V m, V tau) {
    return S::max(S::zero(), S::sub(S::mul(S::sub(x, m), vi), tau));  // NaN tau: NaN
  });
}

template <typename S, int K>
void relumax_all(const typename S::T* Z, int64_t rows, typename S::T b, typename S::T inv_t,
                 typename S::T* P) {
  const typename S::V vb = S::set1(b), vi = S::set1(inv_t);
  for_blocks<S, K>(Z, nullptr, rows, P, [&](const typename S::T* z, const void*, typename S::T* p) {
    relumax_block<S, K>(z, vb, vi, p);
  });
}

template <typename S, int K>
void sparsemax_all(const typename S::T* Z, int64_t rows, typename S::T inv_t, typename S::T* P) {
  const typename S::V vi = S::set1(inv_t);
  for_blocks<S, K>(Z, nullptr, rows, P, [&](const typename S::T* z, const void*, typename S::T* p) {
    sparsemax_block<S, K>(z, vi, p);
  });
}

// ---- dispatch on K ---------------------------------------------------------------

template <typename S, int K>
void relumax_dispatch(const typename S::T* Z, int64_t rows, int64_t k, typename S::T b,
                      typename S::T inv_t, typename S::T* P) {
  if constexpr (K >= 1) {
    if (k == K) return relumax_all<S, K>(Z, rows, b, inv_t, P);
    relumax_dispatch<S, K - 1>(Z, rows, k, b, inv_t, P);
  }
}

template <typename S, int K>
void sparsemax_dispatch(const typename S::T* Z, int64_t rows, int64_t k, typename S::T inv_t,
                        typename S::T* P) {
  if constexpr (K >= 1) {
    if (k == K) return sparsemax_all<S, K>(Z, rows, inv_t, P);
    sparsemax_dispatch<S, K - 1>(Z, rows, k, inv_t, P);
  }
}

}  // namespace

void sparsemax_rows(const float* Z, int64_t rows, int64_t K, float inv_t, float* P) {
  sparsemax_dispatch<F32, kSparsemaxLaneRowsMaxK>(Z, rows, K, inv_t, P);
}
void sparsemax_rows(const double* Z, int64_t rows, int64_t K, double inv_t, double* P) {
  sparsemax_dispatch<F64, kSparsemaxLaneRowsMaxK>(Z, rows, K, inv_t, P);
}
void relumax_rows(const float* Z, int64_t rows, int64_t K, float b, float inv_t, float* P) {
  relumax_dispatch<F32, kRelumaxLaneRowsMaxK>(Z, rows, K, b, inv_t, P);
}
void relumax_rows(const double* Z, int64_t rows, int64_t K, double b, double inv_t, double* P) {
  relumax_dispatch<F64, kRelumaxLaneRowsMaxK>(Z, rows, K, b, inv_t, P);
}

}  // namespace avx512
}  // namespace simplex_detail
}  // namespace pyfastnn

#endif  // PYFASTNN_X86
