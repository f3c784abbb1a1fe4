// AVX2/FMA row kernels of sparsemax and relumax_b (see simplex.cpp for the
// algorithm). Compiled with -mavx2 -mfma; the avx2 and avx512 kernel tables
// hold them (runtime/kernel_registry.hpp).
//
// As in gemm_kernel_avx2.cpp, everything here has internal linkage and uses no
// standard-library templates, so no AVX2-compiled copy of a shared inline
// function can be picked by the linker for the portable path.
//
// Row tails (K not a multiple of the vector width) use masked loads and
// stores, so every element goes through the same instructions.
#ifdef PYFASTNN_X86

#include <immintrin.h>

#include <cstdint>

#include "simd/vec_avx2.hpp"
#include "simplex/simplex_rows.hpp"

namespace pyfastnn {
namespace simplex_detail {
namespace avx2 {
namespace {

// Short rows (at most 4 vectors) processed side by side by the sparsemax kernel,
// so that their dependency chains overlap (on Zen 4 at K = 26: 2 rows ~15 % faster
// than 1, 4 rows ~10 % faster than 2).
constexpr int kShortRowsAtOnce = 4;

// ---- the vectors (simd/vec_avx2.hpp) ------------------------------------------

using simd::avx2::F32;
using simd::avx2::F64;

template <typename S>
void fill_nan_row(typename S::T* p, int64_t K) {
  const typename S::T nan = static_cast<typename S::T>(__builtin_nan(""));
  for (int64_t k = 0; k < K; ++k) p[k] = nan;
}

// Largest entry, or NaN when the row has a NaN, a +inf or only -inf entries.
template <typename S>
typename S::T checked_row_max(const typename S::T* z, int64_t K) {
  using T = typename S::T;
  using V = typename S::V;
  constexpr int W = S::W;
  const T inf = static_cast<T>(__builtin_inf());
  V m0 = S::set1(-inf), m1 = m0, m2 = m0, m3 = m0;
  V nan = S::zero();
  int64_t k = 0;
  for (; k + 4 * W <= K; k += 4 * W) {
    const V x0 = S::loadu(z + k), x1 = S::loadu(z + k + W);
    const V x2 = S::loadu(z + k + 2 * W), x3 = S::loadu(z + k + 3 * W);
    m0 = S::max(m0, x0);
    m1 = S::max(m1, x1);
    m2 = S::max(m2, x2);
    m3 = S::max(m3, x3);
    nan = S::vor(nan, S::vor(S::unord(x0, x1), S::unord(x2, x3)));
  }
  for (; k + W <= K; k += W) {
    const V x = S::loadu(z + k);
    m0 = S::max(m0, x);
    nan = S::vor(nan, S::unord(x, x));
  }
  if (k < K) {  // lanes past the row end count as -inf
    const __m256i tail = S::mask(K - k);
    const V x = S::maskload(z + k, tail);
    m1 = S::max(m1, S::select(S::set1(-inf), S::as_v(tail), x));
    nan = S::vor(nan, S::unord(x, x));
  }
  const T m = S::hmax(S::max(S::max(m0, m1), S::max(m2, m3)));
  if (S::movemask(nan) != 0 || !(m > -inf) || !(m < inf)) return static_cast<T>(__builtin_nan(""));
  return m;
}

// ---- sparsemax -----------------------------------------------------------------

// Packs y_k = (z_k - m) / T of the lanes in `bits` into p + c; returns the new c.
// Writes W lanes at p + c: the caller guarantees c + W <= K.
template <typename S>
inline int64_t pack(typename S::V y, int bits, typename S::T* p, int64_t c) {
  S::storeu(p + c, S::compress(y, bits));
  return c + __builtin_popcount(static_cast<unsigned>(bits));
}

// Threshold of c <= W candidates y[0, c) without branches. With S_j the sum and
// C_j the number of the candidates >= y_j, tau = max_j (S_j - 1) / C_j: the
// sorted-prefix thresholds tau_k = (y_(1) + ... + y_(k) - 1) / k rise while
// y_(k) is in the support and fall after it (tau_{k+1} is a weighted mean of
// tau_k and y_(k+1)), so their maximum is the threshold. The pairs (i, j) are
// visited by rotating the vector W times.
// Returns tau in every lane.
template <typename S>
inline typename S::V threshold_few_v(typename S::V v) {  // dead lanes of v hold -inf
  using T = typename S::T;
  using V = typename S::V;
  const V one = S::set1(T(1));
  V sum[2] = {v, S::zero()}, count[2] = {one, S::zero()};  // r = 0: every lane counts itself
  for (int r = 1; r < S::W; ++r) {  // two chains of additions, for latency
    const V u = S::rotate(v, r);
    const V ge = S::ge(u, v);  // dead lanes of u never count for a live lane of v
    sum[r & 1] = S::add(sum[r & 1], S::vand(u, ge));
    count[r & 1] = S::add(count[r & 1], S::vand(one, ge));
  }
  const V s = S::add(sum[0], sum[1]), c = S::add(count[0], count[1]);
  return S::allmax(S::div(S::sub(s, one), c));  // dead lanes give -inf
}

template <typename S>
inline typename S::T threshold_few(typename S::V v) {
  return S::first(threshold_few_v<S>(v));
}

// Threshold of c > W candidates y[0, c): Michelot's iteration, each pass one
// vectorised sweep (masked sum and count of the entries above tau) over all
// candidates instead of compacting them. After kMaxPruningPasses passes the
// survivors are compacted and handed to the portable search (which ends with a sort).
template <typename S>
typename S::T threshold_many(typename S::T* y, int64_t c) {
  using T = typename S::T;
  using V = typename S::V;
  constexpr int W = S::W;
  const int64_t full = c - c % W;
  const __m256i tail = S::mask(c - full);
  V acc = S::zero();
  for (int64_t k = 0; k < full; k += W) acc = S::add(acc, S::loadu(y + k));
  acc = S::add(acc, S::maskload(y + full, tail));
  int64_t n = c;
  T tau = (S::hsum(acc) - T(1)) / T(n);
  for (int pass = 0; pass < kMaxPruningPasses; ++pass) {
    const V vt = S::set1(tau);
    V sum = S::zero();
    int64_t kept = 0;
    for (int64_t k = 0; k < full; k += W) {
      const V x = S::loadu(y + k);
      const V in = S::gt(x, vt);
      sum = S::add(sum, S::vand(x, in));
      kept += __builtin_popcount(static_cast<unsigned>(S::movemask(in)));
    }
    const V x = S::maskload(y + full, tail);
    const V in = S::vand(S::gt(x, vt), S::as_v(tail));
    sum = S::add(sum, S::vand(x, in));
    kept += __builtin_popcount(static_cast<unsigned>(S::movemask(in)));
    if (kept == n) return tau;  // the set only shrinks, so same size = same set
    n = kept;
    tau = (S::hsum(sum) - T(1)) / T(n);
  }
  int64_t kept = 0;  // entries <= tau are outside the support for good: drop them
  for (int64_t k = 0; k < c; ++k) {
    const T x = y[k];
    y[kept] = x;
    kept += x > tau;
  }
  return threshold_of_candidates(y, kept);
}

template <typename S>
void sparsemax_row(const typename S::T* z, int64_t K, typename S::T inv_t, typename S::T* p) {
  using T = typename S::T;
  using V = typename S::V;
  constexpr int W = S::W;
  const T m = checked_row_max<S>(z, K);
  if (m != m) return fill_nan_row<S>(p, K);
  const V vm = S::set1(m), vi = S::set1(inv_t), floor = S::set1(T(kCandidateFloor));

  // Gather the candidates y > -1 into p[0, c). At element k, c <= k, so a full
  // vector stored at p + c stays inside p[0, k + W) and never passes the row end.
  // Branch-free: every vector is packed (an empty pack stores lanes that later
  // packs or the final write overwrite), since whether a vector holds a candidate
  // is too random to predict.
  int64_t c = 0, k = 0;
  for (; k + W <= K; k += W) {
    const V y = S::mul(S::sub(S::loadu(z + k), vm), vi);
    c = pack<S>(y, S::movemask(S::gt(y, floor)), p, c);
  }
  if (k < K) {  // the tail packs through a local buffer: p + c + W may pass the row end
    const __m256i tail = S::mask(K - k);
    const V y = S::mul(S::sub(S::maskload(z + k, tail), vm), vi);
    const int b = S::movemask(S::vand(S::gt(y, floor), S::as_v(tail)));
    T packed[W];
    S::storeu(packed, S::compress(y, b));
    for (int j = 0, nb = __builtin_popcount(static_cast<unsigned>(b)); j < nb; ++j)
      p[c++] = packed[j];
  }

  T tau;
  if (c <= W) {
    const __m256i live = S::mask(c);
    const V neg_inf = S::set1(static_cast<T>(-__builtin_inf()));
    tau = threshold_few<S>(S::select(neg_inf, S::as_v(live), S::maskload(p, live)));
  } else {
    tau = threshold_many<S>(p, c);
  }

  const V vt = S::set1(tau), zero = S::zero();
  for (k = 0; k + W <= K; k += W)
    S::storeu(p + k, S::max(S::sub(S::mul(S::sub(S::loadu(z + k), vm), vi), vt), zero));
  if (k < K) {
    const __m256i tail = S::mask(K - k);
    const V y = S::mul(S::sub(S::maskload(z + k, tail), vm), vi);
    S::maskstore(p + k, tail, S::max(S::sub(y, vt), zero));
  }
}

// Rows of at most NV vectors (K <= NV W), kept in registers: one load, the
// candidates packed into one vector, the branch-free threshold, one store.
// R rows are processed side by side, stage by stage, so that their dependency
// chains (max -> threshold -> write) overlap. A row with a NaN / inf goes to
// sparsemax_row; a row with more than W candidates runs Michelot's iteration on
// its registers.
template <typename S, int NV, int R>
void sparsemax_short_rows(const typename S::T* z, int64_t K, typename S::T inv_t,
                          typename S::T* p) {
  using T = typename S::T;
  using V = typename S::V;
  constexpr int W = S::W;
  const T inf = static_cast<T>(__builtin_inf());
  const V neg_inf = S::set1(-inf), vi = S::set1(inv_t), floor = S::set1(T(kCandidateFloor));
  const __m256i tail = S::mask(K - (NV - 1) * W);  // the last vector's live lanes
  V y[R][NV], vm[R];
  bool bad = false;
  for (int r = 0; r < R; ++r) {
    const T* zr = z + r * K;
    for (int i = 0; i < NV - 1; ++i) y[r][i] = S::loadu(zr + i * W);
    const V last = S::maskload(zr + (NV - 1) * W, tail);
    y[r][NV - 1] = S::select(neg_inf, S::as_v(tail), last);  // lanes past the end: -inf
    V top = y[r][0], nan = S::unord(last, last);
    for (int i = 1; i < NV; ++i) top = S::max(top, y[r][i]);
    for (int i = 0; i < NV - 1; ++i) nan = S::vor(nan, S::unord(y[r][i], y[r][i]));
    vm[r] = S::allmax(top);
    const T m = S::first(vm[r]);
    bad |= S::movemask(nan) != 0 || !(m > -inf) || !(m < inf);
  }
  if (bad) {
    for (int r = 0; r < R; ++r) sparsemax_row<S>(z + r * K, K, inv_t, p + r * K);
    return;
  }
  int bits[R][NV], count[R];
  V packed[R];
  for (int r = 0; r < R; ++r) {
    count[r] = 0;
    for (int i = 0; i < NV; ++i) {
      y[r][i] = S::mul(S::sub(y[r][i], vm[r]), vi);
      bits[r][i] = S::movemask(S::gt(y[r][i], floor));
      count[r] += __builtin_popcount(static_cast<unsigned>(bits[r][i]));
    }
    if (NV == 1) {  // the whole row is one vector: no need to pick the candidates out
      packed[r] = y[r][0];
      continue;
    }
    packed[r] = neg_inf;  // pack the candidates (garbage when more than W: not used)
    int off = 0;
    for (int i = 0; i < NV; ++i) {
      const int n = __builtin_popcount(static_cast<unsigned>(bits[r][i]));
      const V into = S::as_v(_mm256_andnot_si256(S::mask(off), S::mask(off + n)));
      packed[r] = S::select(packed[r], into, S::shift_up(S::compress(y[r][i], bits[r][i]), off));
      off += n;
    }
  }
  V vtau[R];
  for (int r = 0; r < R; ++r) vtau[r] = threshold_few_v<S>(packed[r]);
  for (int r = 0; r < R; ++r) {
    if (count[r] <= W) continue;
    // Michelot's iteration on the registers, from the candidate set
    T t = T(kCandidateFloor);
    int n = count[r];
    for (int pass = 0;; ++pass) {
      if (pass == kMaxPruningPasses) {
        t = -inf;  // give up: sparsemax_row below
        break;
      }
      const V vt = S::set1(t);
      V sum = S::zero();
      int kept = 0;
      for (int i = 0; i < NV; ++i) {
        const V in = S::gt(y[r][i], vt);
        sum = S::add(sum, S::vand(y[r][i], in));
        kept += __builtin_popcount(static_cast<unsigned>(S::movemask(in)));
      }
      if (kept == n && pass > 0) break;
      n = kept;
      t = (S::hsum(sum) - T(1)) / T(n);
    }
    if (!(t > -inf)) {
      sparsemax_row<S>(z + r * K, K, inv_t, p + r * K);
      count[r] = -1;  // done
    }
    vtau[r] = S::set1(t);
  }
  const V zero = S::zero();
  for (int r = 0; r < R; ++r) {
    T* pr = p + r * K;
    if (count[r] < 0) continue;
    const V vt = vtau[r];
    for (int i = 0; i < NV - 1; ++i) S::storeu(pr + i * W, S::max(S::sub(y[r][i], vt), zero));
    S::maskstore(pr + (NV - 1) * W, tail, S::max(S::sub(y[r][NV - 1], vt), zero));
  }
}

// ---- relumax_b -----------------------------------------------------------------

// u_k = relu((z_k - m) / T + b); p = u / sum(u). Two passes over the row (the sum,
// then the scaled write), each computing u the same way.
template <typename S>
void relumax_row(const typename S::T* z, int64_t K, typename S::T b, typename S::T inv_t,
                 typename S::T* p) {
  using T = typename S::T;
  using V = typename S::V;
  constexpr int W = S::W;
  const T m = checked_row_max<S>(z, K);
  if (m != m) return fill_nan_row<S>(p, K);
  const V vm = S::set1(m), vi = S::set1(inv_t), vb = S::set1(b), zero = S::zero();
  auto u_at = [&](V x) { return S::max(S::fmadd(S::sub(x, vm), vi, vb), zero); };

  V s0 = zero, s1 = zero, s2 = zero, s3 = zero;
  int64_t k = 0;
  for (; k + 4 * W <= K; k += 4 * W) {
    s0 = S::add(s0, u_at(S::loadu(z + k)));
    s1 = S::add(s1, u_at(S::loadu(z + k + W)));
    s2 = S::add(s2, u_at(S::loadu(z + k + 2 * W)));
    s3 = S::add(s3, u_at(S::loadu(z + k + 3 * W)));
  }
  for (; k + W <= K; k += W) s0 = S::add(s0, u_at(S::loadu(z + k)));
  if (k < K) {
    const __m256i tail = S::mask(K - k);
    s1 = S::add(s1, S::vand(u_at(S::maskload(z + k, tail)), S::as_v(tail)));
  }
  const T sum = S::hsum(S::add(S::add(s0, s1), S::add(s2, s3)));  // >= b > 0

  const V scale = S::set1(T(1) / sum);
  for (k = 0; k + W <= K; k += W) S::storeu(p + k, S::mul(u_at(S::loadu(z + k)), scale));
  if (k < K) {
    const __m256i tail = S::mask(K - k);
    S::maskstore(p + k, tail, S::mul(u_at(S::maskload(z + k, tail)), scale));
  }
}

// ---- Jacobian products from the output ------------------------------------------

// Reductions over one row of (p, v): NaN in p, |S|, sum_S v, sum_S p v and, when
// kArgmax, the first index of max(p) (the max in the sweep, its index by a
// second short scan that stops at the first hit). S = {k : p_k > 0}.
template <typename S>
struct RowSums {
  bool nan;
  int64_t count;
  typename S::T sum_v, sum_pv;
  int64_t argmax;
};

template <typename S, bool kArgmax>
RowSums<S> row_sums(const typename S::T* p, const typename S::T* v, int64_t K) {
  using T = typename S::T;
  using V = typename S::V;
  constexpr int W = S::W;
  const V zero = S::zero(), neg_inf = S::set1(static_cast<T>(-__builtin_inf()));
  V nan = zero, sv = zero, spv = zero, best = neg_inf;
  int64_t count = 0;
  auto step = [&](V x, V g) {
    const V in = S::gt(x, zero);
    nan = S::vor(nan, S::unord(x, x));
    count += __builtin_popcount(static_cast<unsigned>(S::movemask(in)));
    sv = S::add(sv, S::vand(g, in));  // entries of v outside S are selected away
    spv = S::add(spv, S::vand(S::mul(x, g), in));
    if (kArgmax) best = S::max(best, x);
  };
  int64_t k = 0;
  for (; k + W <= K; k += W) step(S::loadu(p + k), S::loadu(v + k));
  const int64_t rest = K - k;
  const __m256i tail = S::mask(rest);
  if (rest > 0) {
    const V x = S::maskload(p + k, tail);
    step(S::select(kArgmax ? neg_inf : zero, S::as_v(tail), x), S::maskload(v + k, tail));
  }
  RowSums<S> r{S::movemask(nan) != 0, count, S::hsum(sv), S::hsum(spv), 0};
  if (kArgmax && !r.nan) {
    const V top = S::set1(S::hmax(best));  // an entry of p, so the scan finds it
    for (k = 0; k + W <= K; k += W)
      if (const int hit = S::movemask(S::eq(S::loadu(p + k), top)))
        return r.argmax = k + __builtin_ctz(static_cast<unsigned>(hit)), r;
    const int hit = S::movemask(S::vand(S::eq(S::maskload(p + k, tail), top), S::as_v(tail)));
    r.argmax = hit ? k + __builtin_ctz(static_cast<unsigned>(hit)) : 0;
  }
  return r;
}

// out = f(p, v) restricted to the support, vector by vector (out may alias p or v).
template <typename S, typename F>
void masked_map(const typename S::T* p, const typename S::T* v, int64_t K, typename S::T* out,
                F f) {
  using V = typename S::V;
  constexpr int W = S::W;
  const V zero = S::zero();
  int64_t k = 0;
  for (; k + W <= K; k += W) {
    const V x = S::loadu(p + k);
    S::storeu(out + k, S::vand(f(x, S::loadu(v + k)), S::gt(x, zero)));
  }
  if (k < K) {
    const __m256i tail = S::mask(K - k);
    const V x = S::maskload(p + k, tail);
    S::maskstore(out + k, tail, S::vand(f(x, S::maskload(v + k, tail)), S::gt(x, zero)));
  }
}

template <typename S>
void product_row(ProductKind kind, const typename S::T* p, const typename S::T* v, int64_t K,
                 typename S::T b, typename S::T inv_t, typename S::T* out) {
  using T = typename S::T;
  using V = typename S::V;
  const bool relu = kind == ProductKind::relumax_jvp || kind == ProductKind::relumax_vjp;
  const RowSums<S> r = relu ? row_sums<S, true>(p, v, K) : row_sums<S, false>(p, v, K);
  if (r.nan) return fill_nan_row<S>(out, K);
  const V vi = S::set1(inv_t);
  switch (kind) {
    case ProductKind::softmax: {  // p (v - <p, v>) / T
      const V a = S::set1(r.sum_pv);
      return masked_map<S>(p, v, K, out,
                           [&](V x, V g) { return S::mul(S::mul(x, S::sub(g, a)), vi); });
    }
    case ProductKind::sparsemax: {  // s (v - mean_S v) / T
      const V mean = S::set1(r.count > 0 ? r.sum_v / T(r.count) : T(0));
      return masked_map<S>(p, v, K, out, [&](V, V g) { return S::mul(S::sub(g, mean), vi); });
    }
    case ProductKind::relumax_jvp: {  // s (w - p sum_S w) / (D T), w = v - v_m
      const T vm = v[r.argmax];
      const V scale = S::set1(p[r.argmax] / b * inv_t);
      const V vvm = S::set1(vm), sum_w = S::set1(r.sum_v - T(r.count) * vm);
      return masked_map<S>(p, v, K, out, [&](V x, V g) {
        return S::mul(S::sub(S::sub(g, vvm), S::mul(x, sum_w)), scale);
      });
    }
    case ProductKind::relumax_vjp: {  // r = s (g - <p, g>) / (D T); r_m -= sum(r)
      const int64_t m = r.argmax;
      const T scale = p[m] / b * inv_t;
      const T sum_r = (r.sum_v - T(r.count) * r.sum_pv) * scale;
      const V gbar = S::set1(r.sum_pv), vs = S::set1(scale);
      masked_map<S>(p, v, K, out, [&](V, V g) { return S::mul(S::sub(g, gbar), vs); });
      out[m] -= sum_r;
      return;
    }
  }
}

template <typename S>
void product_block(ProductKind kind, const typename S::T* P, const typename S::T* V,
                   int64_t rows, int64_t K, typename S::T b, typename S::T inv_t,
                   typename S::T* out) {
  for (int64_t i = 0; i < rows; ++i)
    product_row<S>(kind, P + i * K, V + i * K, K, b, inv_t, out + i * K);
}

template <typename S, int NV>
void sparsemax_short_block(const typename S::T* Z, int64_t rows, int64_t K, typename S::T inv_t,
                           typename S::T* P) {
  int64_t i = 0;
  for (; i + kShortRowsAtOnce <= rows; i += kShortRowsAtOnce)
    sparsemax_short_rows<S, NV, kShortRowsAtOnce>(Z + i * K, K, inv_t, P + i * K);
  for (; i < rows; ++i) sparsemax_short_rows<S, NV, 1>(Z + i * K, K, inv_t, P + i * K);
}

// relumax_b of rows of at most NV vectors, in registers (NaN / inf rows: relumax_row).
template <typename S, int NV>
void relumax_short_row(const typename S::T* z, int64_t K, typename S::T b, typename S::T inv_t,
                       typename S::T* p) {
  using T = typename S::T;
  using V = typename S::V;
  constexpr int W = S::W;
  const T inf = static_cast<T>(__builtin_inf());
  const V neg_inf = S::set1(-inf);
  const __m256i tail = S::mask(K - (NV - 1) * W);
  V x[NV];
  for (int i = 0; i < NV - 1; ++i) x[i] = S::loadu(z + i * W);
  const V last = S::maskload(z + (NV - 1) * W, tail);
  x[NV - 1] = S::select(neg_inf, S::as_v(tail), last);
  V top = x[0], nan = S::unord(last, last);
  for (int i = 1; i < NV; ++i) top = S::max(top, x[i]);
  for (int i = 0; i < NV - 1; ++i) nan = S::vor(nan, S::unord(x[i], x[i]));
  const T m = S::hmax(top);
  if (S::movemask(nan) != 0 || !(m > -inf) || !(m < inf)) return relumax_row<S>(z, K, b, inv_t, p);
  const V vm = S::set1(m), vi = S::set1(inv_t), vb = S::set1(b), zero = S::zero();
  V u[NV], sum = zero;
  for (int i = 0; i < NV; ++i) {  // lanes past the row end: relu(-inf) = 0
    u[i] = S::max(S::fmadd(S::sub(x[i], vm), vi, vb), zero);
    sum = S::add(sum, u[i]);
  }
  const V scale = S::set1(T(1) / S::hsum(sum));
  for (int i = 0; i < NV - 1; ++i) S::storeu(p + i * W, S::mul(u[i], scale));
  S::maskstore(p + (NV - 1) * W, tail, S::mul(u[NV - 1], scale));
}

template <typename S, int NV>
void relumax_short_block(const typename S::T* Z, int64_t rows, int64_t K, typename S::T b,
                         typename S::T inv_t, typename S::T* P) {
  for (int64_t i = 0; i < rows; ++i) relumax_short_row<S, NV>(Z + i * K, K, b, inv_t, P + i * K);
}

template <typename S>
void sparsemax_block(const typename S::T* Z, int64_t rows, int64_t K, typename S::T inv_t,
                     typename S::T* P) {
  switch ((K + S::W - 1) / S::W) {  // vectors per row
    case 1:
      return sparsemax_short_block<S, 1>(Z, rows, K, inv_t, P);
    case 2:
      return sparsemax_short_block<S, 2>(Z, rows, K, inv_t, P);
    case 3:
      return sparsemax_short_block<S, 3>(Z, rows, K, inv_t, P);
    case 4:
      return sparsemax_short_block<S, 4>(Z, rows, K, inv_t, P);
    default:
      for (int64_t i = 0; i < rows; ++i) sparsemax_row<S>(Z + i * K, K, inv_t, P + i * K);
  }
}

template <typename S>
void relumax_block(const typename S::T* Z, int64_t rows, int64_t K, typename S::T b,
                   typename S::T inv_t, typename S::T* P) {
  switch ((K + S::W - 1) / S::W) {  // vectors per row
    case 1:
      return relumax_short_block<S, 1>(Z, rows, K, b, inv_t, P);
    case 2:
      return relumax_short_block<S, 2>(Z, rows, K, b, inv_t, P);
    case 3:
      return relumax_short_block<S, 3>(Z, rows, K, b, inv_t, P);
    case 4:
      return relumax_short_block<S, 4>(Z, rows, K, b, inv_t, P);
    default:
      for (int64_t i = 0; i < rows; ++i) relumax_row<S>(Z + i * K, K, b, inv_t, P + i * K);
  }
}

}  // namespace

void product_rows(ProductKind kind, const float* P, const float* V, int64_t rows, int64_t K,
                  float b, float inv_t, float* out) {
  product_block<F32>(kind, P, V, rows, K, b, inv_t, out);
}
void product_rows(ProductKind kind, const double* P, const double* V, int64_t rows, int64_t K,
                  double b, double inv_t, double* out) {
  product_block<F64>(kind, P, V, rows, K, b, inv_t, out);
}

void sparsemax_rows(const float* Z, int64_t rows, int64_t K, float inv_t, float* P) {
  sparsemax_block<F32>(Z, rows, K, inv_t, P);
}
void sparsemax_rows(const double* Z, int64_t rows, int64_t K, double inv_t, double* P) {
  sparsemax_block<F64>(Z, rows, K, inv_t, P);
}
void relumax_rows(const float* Z, int64_t rows, int64_t K, float b, float inv_t, float* P) {
  relumax_block<F32>(Z, rows, K, b, inv_t, P);
}
void relumax_rows(const double* Z, int64_t rows, int64_t K, double b, double inv_t, double* P) {
  relumax_block<F64>(Z, rows, K, b, inv_t, P);
}

}  // namespace avx2
}  // namespace simplex_detail
}  // namespace pyfastnn

#endif  // PYFASTNN_X86
