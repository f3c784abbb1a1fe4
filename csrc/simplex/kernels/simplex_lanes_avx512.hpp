// Building blocks of the AVX-512 short-row kernels (simplex_lanes_avx512.cpp,
// simplex_lanes_products_avx512.cpp), which put one row per vector lane.
// Included only by *_avx512.cpp files (compiled with -mavx512f -mavx512vl
// -mavx512bw -mavx512dq -mfma); everything is in an anonymous namespace, so each
// of them has its own copy and none can be picked by the linker for another ISA.
//
// Shapes: row-major arrays (rows, K), K a compile-time constant. A block is L
// rows (L = S::W lanes: 16 float, 8 double), i.e. L K contiguous elements = exactly K
// vectors ("flat" vectors; lane j of flat vector v is row (L v + j) / K, column
// (L v + j) % K). Column vectors hold one entry of each row of a block (lane r =
// row r) and are made by transposing the block in registers.
#pragma once

#ifdef PYFASTNN_X86

#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "simd/vec_avx512.hpp"

namespace pyfastnn {
namespace simplex_detail {
namespace avx512 {
namespace {

// ---- the vectors (simd/vec_avx512.hpp) and the lanes of a flat vector -------

using simd::avx512::F32;
using simd::avx512::F64;

// Lane j: (W v + j) / K, the row of lane j of flat vector v (an index for
// S::permute, which spreads a column vector of per-row values over v).
template <typename S>
inline __m512i rows_of_flat(int v, int K) {
  alignas(64) typename S::Index r[S::W];
  for (int j = 0; j < S::W; ++j) r[j] = (S::W * v + j) / K;
  return _mm512_load_si512(r);
}

// Lane j: (W v + j) % K, the column of lane j of flat vector v.
template <typename S>
inline typename S::V cols_of_flat(int v, int K) {
  alignas(64) typename S::T c[S::W];
  for (int j = 0; j < S::W; ++j) c[j] = static_cast<typename S::T>((S::W * v + j) % K);
  return S::load(c);
}

// c[i] = column j + i of the block z (lane r = z[r K + j + i]) for i < N and
// j + i < K, j a multiple of L: the L x L tile at column j is loaded row by row
// (masked) and transposed in registers; the columns not asked for are never
// computed. (Gathers are ~4x slower on Zen 4.)
template <typename S, int K, int N>
inline void load_tile(const typename S::T* z, int j, typename S::V* c) {
  constexpr int L = S::W;
  const int width = K - j < L ? K - j : L;
  const typename S::Mask m = S::mask(width);
  typename S::V r[L];
#pragma GCC unroll 16
  for (int i = 0; i < L; ++i) r[i] = S::maskload(z + i * K + j, m);
  S::transpose(r);
#pragma GCC unroll 16
  for (int i = 0; i < N && i < width; ++i) c[i] = r[i];
}

// c[k] = column k of the block z, k < K.
template <typename S, int K>
inline void load_columns(const typename S::T* z, typename S::V* c) {
#pragma GCC unroll 4
  for (int j = 0; j < K; j += S::W) load_tile<S, K, S::W>(z, j, c + j);
}

// Calls block(a, b, out) on every block of L rows of A and B (b = nullptr when B
// is) and out: whole blocks in place, the last rows % L rows through zero-padded
// blocks on the stack.
template <typename S, int K, typename Block>
void for_blocks(const typename S::T* A, const typename S::T* B, int64_t rows, typename S::T* out,
                Block block) {
  using T = typename S::T;
  constexpr int64_t kBlock = int64_t(S::W) * K;
  int64_t i = 0;
  for (; i + S::W <= rows; i += S::W) block(A + i * K, B ? B + i * K : nullptr, out + i * K);
  if (i == rows) return;
  T a[kBlock] = {}, b[kBlock] = {}, o[kBlock];
  const size_t bytes = static_cast<size_t>((rows - i) * K) * sizeof(T);
  std::memcpy(a, A + i * K, bytes);
  if (B) std::memcpy(b, B + i * K, bytes);
  block(a, B ? b : nullptr, o);
  std::memcpy(out + i * K, o, bytes);
}

}  // namespace
}  // namespace avx512
}  // namespace simplex_detail
}  // namespace pyfastnn

#endif  // PYFASTNN_X86
