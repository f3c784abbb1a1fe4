// AVX-512 Jacobian products of sparsemax and relumax_b for short rows
// (K <= kProductLaneRowsMaxK), one row per vector lane (simplex_lanes_avx512.hpp).
// Compiled with -mavx512f -mavx512vl -mavx512bw -mavx512dq -mfma; called only
// when active_isa() is avx512. Same results as product_row in simplex_avx2.cpp.
//
// Shapes: P, V (rows, K) -> out (rows, K), row-major; out may alias P or V
// exactly (a block is read whole before any of it is written). Per block of L rows:
//   1. P and V are transposed into columns; the row sums are taken on them, all
//      lanes in lock step: |S|, sum_S v, sum_S p v and, for relumax, the first
//      argmax m of p with p_m and v_m (S = {k : p_k > 0});
//   2. out is computed on the flat vectors, each lane fetching its row's sums by
//      one permute; relumax's VJP subtracts sum(r) in the lane whose column is m.
// A row of P with a NaN becomes a row of NaN (scalar fix-up after the block).
#ifdef PYFASTNN_X86

#include <immintrin.h>

#include <cstdint>

#include "simplex/kernels/simplex_lanes_avx512.hpp"
#include "simplex/simplex_rows.hpp"

namespace pyfastnn {
namespace simplex_detail {
namespace avx512 {
namespace {

template <typename S>
struct ProductSums {
  typename S::V count, sum_v, sum_pv, top, v_top, argmax;  // top = p_m, v_top = v_m
  unsigned bad;  // lanes whose p has a NaN
};

// The sums of one block, one L x L tile of columns at a time (fewer live registers).
template <typename S, int K, bool kArgmax>
inline ProductSums<S> product_sums(const typename S::T* p, const typename S::T* v) {
  using T = typename S::T;
  using V = typename S::V;
  constexpr int L = S::W;
  const V zero = S::zero(), one = S::set1(T(1));
  ProductSums<S> r{zero, zero, zero, zero, zero, zero, 0};
#pragma GCC unroll 4
  for (int j = 0; j < K; j += L) {
    constexpr int kTile = K < L ? K : L;
    V pc[kTile], vc[kTile];
    load_tile<S, K, kTile>(p, j, pc);
    load_tile<S, K, kTile>(v, j, vc);
    if (j == 0) {
      r.top = pc[0];
      r.v_top = vc[0];
    }
#pragma GCC unroll 16
    for (int i = 0; i < kTile; ++i) {
      if (j + i >= K) break;
      const auto in = S::gt(pc[i], zero);
      r.bad |= S::unord(pc[i], pc[i]);
      r.count = S::add_if(r.count, in, one);
      r.sum_v = S::add_if(r.sum_v, in, vc[i]);
      r.sum_pv = S::add_if(r.sum_pv, in, S::mul(pc[i], vc[i]));
      if (kArgmax && j + i > 0) {  // strictly greater: the first maximal index
        const auto above = S::gt(pc[i], r.top);
        r.top = S::select(r.top, above, pc[i]);
        r.v_top = S::select(r.v_top, above, vc[i]);
        r.argmax = S::select(r.argmax, above, S::set1(T(j + i)));
      }
    }
  }
  return r;
}

// Rows of the block with a NaN in p: all NaN.
template <typename S, int K>
inline void fill_bad_rows(unsigned bad, typename S::T* out) {
  for (; bad; bad &= bad - 1) {
    typename S::T* row = out + __builtin_ctz(bad) * K;
    for (int k = 0; k < K; ++k) row[k] = static_cast<typename S::T>(__builtin_nan(""));
  }
}

// out = f(x, g, v) on the support (0 elsewhere), flat vector v by flat vector.
template <typename S, int K, typename F>
inline void write_support(const typename S::T* p, const typename S::T* g, typename S::T* out,
                          F f) {
  using V = typename S::V;
#pragma GCC unroll 64
  for (int v = 0; v < K; ++v) {
    const V x = S::loadu(p + v * S::W);
    const V y = f(x, S::loadu(g + v * S::W), v);
    S::storeu(out + v * S::W, S::select(S::zero(), S::gt(x, S::zero()), y));
  }
}

template <typename S, int K>
inline void product_block(ProductKind kind, const typename S::T* p, const typename S::T* g,
                          typename S::T b, typename S::T inv_t, typename S::T* out) {
  using V = typename S::V;
  const V vi = S::set1(inv_t);
  if (kind == ProductKind::sparsemax) {  // s (v - mean_S v) / T
    const ProductSums<S> r = product_sums<S, K, false>(p, g);
    const V mean = S::select(S::zero(), S::gt(r.count, S::zero()), S::div(r.sum_v, r.count));
    write_support<S, K>(p, g, out, [&](V, V gv, int v) {
      return S::mul(S::sub(gv, S::permute(rows_of_flat<S>(v, K), mean)), vi);
    });
    return fill_bad_rows<S, K>(r.bad, out);
  }
  const ProductSums<S> r = product_sums<S, K, true>(p, g);
  const V scale = S::mul(S::div(r.top, S::set1(b)), vi);  // 1 / (D T), D = b / p_m
  if (kind == ProductKind::relumax_jvp) {  // s (w - p sum_S w) / (D T), w = v - v_m
    const V sum_w = S::sub(r.sum_v, S::mul(r.count, r.v_top));
    write_support<S, K>(p, g, out, [&](V x, V gv, int v) {
      const __m512i rows = rows_of_flat<S>(v, K);
      const V w = S::sub(gv, S::permute(rows, r.v_top));
      return S::mul(S::sub(w, S::mul(x, S::permute(rows, sum_w))), S::permute(rows, scale));
    });
  } else {  // relumax_vjp: r = s (g - <p, g>) / (D T); r_m -= sum(r)
    const V sum_r = S::mul(S::sub(r.sum_v, S::mul(r.count, r.sum_pv)), scale);
    write_support<S, K>(p, g, out, [&](V, V gv, int v) {
      const __m512i rows = rows_of_flat<S>(v, K);
      const V rv = S::mul(S::sub(gv, S::permute(rows, r.sum_pv)), S::permute(rows, scale));
      const auto at_m = S::eq(cols_of_flat<S>(v, K), S::permute(rows, r.argmax));
      return S::sub_if(rv, at_m, S::permute(rows, sum_r));  // p_m > 0: m is in S
    });
  }
  fill_bad_rows<S, K>(r.bad, out);
}

template <typename S, int K>
void product_all(ProductKind kind, const typename S::T* P, const typename S::T* G, int64_t rows,
                 typename S::T b, typename S::T inv_t, typename S::T* out) {
  using T = typename S::T;
  for_blocks<S, K>(P, G, rows, out, [&](const T* p, const T* g, T* o) {
    product_block<S, K>(kind, p, g, b, inv_t, o);
  });
}

template <typename S, int K>
void product_dispatch(ProductKind kind, const typename S::T* P, const typename S::T* G,
                      int64_t rows, int64_t k, typename S::T b, typename S::T inv_t,
                      typename S::T* out) {
  if constexpr (K >= 1) {
    if (k == K) return product_all<S, K>(kind, P, G, rows, b, inv_t, out);
    product_dispatch<S, K - 1>(kind, P, G, rows, k, b, inv_t, out);
  }
}

}  // namespace

void product_rows(ProductKind kind, const float* P, const float* V, int64_t rows, int64_t K,
                  float b, float inv_t, float* out) {
  product_dispatch<F32, kProductLaneRowsMaxK>(kind, P, V, rows, K, b, inv_t, out);
}
void product_rows(ProductKind kind, const double* P, const double* V, int64_t rows, int64_t K,
                  double b, double inv_t, double* out) {
  product_dispatch<F64, kProductLaneRowsMaxK>(kind, P, V, rows, K, b, inv_t, out);
}

}  // namespace avx512
}  // namespace simplex_detail
}  // namespace pyfastnn

#endif  // PYFASTNN_X86
