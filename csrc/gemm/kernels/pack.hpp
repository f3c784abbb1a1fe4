// Packing kernels of the GEMM shared by the ISAs (see PackKernel in
// gemm_kernel.hpp for the layouts), over a vector vocabulary S
// (simd/vec_avx2.hpp, simd/vec_avx512.hpp). Full slivers only; the caller
// packs the edge sliver.
//
// Include only from *_avx2.cpp / *_avx512.cpp files (compiled with those
// instructions); everything is in an anonymous namespace (see micro_kernel.hpp).
#pragma once

#ifdef PYFASTNN_X86

#include <cstdint>

namespace pyfastnn {
namespace gemm_detail {
namespace {

// Copy one row segment of NV vectors.
template <class S, int NV>
inline void copy_vectors(const typename S::T* s, typename S::T* d) {
#pragma GCC unroll 4
  for (int v = 0; v < NV; ++v) S::storeu(d + v * S::W, S::loadu(s + v * S::W));
}

// Copy: Copy moves one row segment of W elements; 4 source rows at a time
// across all slivers.
template <typename T, int W, void (*Copy)(const T*, T*)>
void pack_copy(int64_t kc, int64_t ns, const T* src, int64_t ld, T* dst) {
  const int64_t sstride = W * kc;  // distance between slivers in dst
  int64_t k = 0;
  for (; k + 4 <= kc; k += 4) {
    const T* s = src + k * ld;
    T* d = dst + k * W;
    for (int64_t q = 0; q < ns; ++q, s += W, d += sstride) {
      Copy(s, d);
      Copy(s + ld, d + W);
      Copy(s + 2 * ld, d + 2 * W);
      Copy(s + 3 * ld, d + 3 * W);
    }
  }
  for (; k < kc; ++k) {
    const T* s = src + k * ld;
    T* d = dst + k * W;
    for (int64_t q = 0; q < ns; ++q, s += W, d += sstride) Copy(s, d);
  }
}

// Columns [k, kc) of a sliver of W source rows, one element at a time: the
// tail of the vector transposes.
template <typename T, int W>
inline void transpose_tail(int64_t k, int64_t kc, const T* src, int64_t ld, T* dst) {
  for (; k < kc; ++k)
    for (int c = 0; c < W; ++c) dst[k * W + c] = src[c * ld + k];
}

// Transpose of one sliver of W source rows (W a multiple of S::W): S::W k per
// step, W / S::W square blocks of S::W x S::W transposed in registers.
template <class S, int W>
void transpose_sliver(int64_t kc, const typename S::T* src, int64_t ld, typename S::T* dst) {
  constexpr int L = S::W;
  static_assert(W % L == 0, "whole blocks only");
  int64_t k = 0;
  for (; k + L <= kc; k += L) {
    for (int h = 0; h < W / L; ++h) {
      typename S::V r[L];
#pragma GCC unroll 8
      for (int i = 0; i < L; ++i) r[i] = S::loadu(src + (L * h + i) * ld + k);
      S::transpose(r);
#pragma GCC unroll 8
      for (int i = 0; i < L; ++i) S::storeu(dst + (k + i) * W + L * h, r[i]);
    }
  }
  transpose_tail<typename S::T, W>(k, kc, src, ld, dst);
}

// Transpose: One transposes one sliver; this runs it over ns slivers side by
// side in the source.
template <typename T, int W, void (*One)(int64_t, const T*, int64_t, T*)>
void pack_transpose(int64_t kc, int64_t ns, const T* src, int64_t ld, T* dst) {
  for (int64_t q = 0; q < ns; ++q) One(kc, src + q * W * ld, ld, dst + q * W * kc);
}

}  // namespace
}  // namespace gemm_detail
}  // namespace pyfastnn

#endif  // PYFASTNN_X86
