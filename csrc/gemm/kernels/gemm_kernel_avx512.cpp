// AVX-512 kernels of the GEMM (see gemm_kernel.hpp for the layering and the
// packed layouts; tile and block sizes in BlockingAvx512). Compiled with
// -mavx512f -mavx512vl -mavx512bw -mavx512dq -mfma; called only after the
// run-time check in cpu.cpp.
//
// The micro-kernel and the packing are the shared templates (micro_kernel.hpp,
// pack.hpp) on the 8 x 32 float / 8 x 16 double tile; what is AVX-512's own:
// the micro-kernel with B read in place and the masked packing of a partial B
// sliver. The matrix-vector kernels are taken from the AVX2 family
// (memory-bound: wider vectors gain nothing there), and so are the transposes
// of the packing (8 x 8 float / 4 x 4 double blocks in ymm registers).
//
// Everything here has internal linkage and uses no standard-library templates:
// a template or inline function instantiated in this translation unit would be
// compiled with AVX-512 enabled, and the linker could then pick that copy for
// callers on the other paths too.
#ifdef PYFASTNN_X86

#include <cstdint>

#include "gemm/gemm_kernel.hpp"
#include "gemm/kernels/micro_kernel.hpp"
#include "gemm/kernels/pack.hpp"
#include "simd/vec_avx2.hpp"
#include "simd/vec_avx512.hpp"

namespace pyfastnn {
namespace gemm_detail {
namespace avx512 {
namespace {

using simd::avx512::F32;
using simd::avx512::F64;
using Ymm32 = simd::avx2::F32;
using Ymm64 = simd::avx2::F64;

// k steps per iteration of the micro-kernel's loop when A is read in place:
// with 32 zmm registers (16 accumulators + 2 B vectors + 1 broadcast = 19)
// unrolling by 4 spills nothing.
constexpr int kRowsUnroll = 4;

// Shapes: see PackEdgeKernel in gemm_kernel.hpp (W = NR, a whole number of
// vectors; loads under a mask: nothing past column w is read).
template <class S, int NR>
void pack_copy_edge(int64_t kc, int64_t w, const typename S::T* src, int64_t ld,
                    typename S::T* dst) {
  for (int64_t k = 0; k < kc; ++k, src += ld, dst += NR)
#pragma GCC unroll 4
    for (int v = 0; v < NR / S::W; ++v)
      S::storeu(dst + v * S::W, S::maskload(src + v * S::W, S::mask(w - v * S::W)));
}

}  // namespace

KernelSet<float> kernels_f32() {
  using Tile = BlockingAvx512<float>;
  static_assert(Tile::MR == 8 && Tile::NR == 32, "pack kernel widths");
  KernelSet<float> ks = avx2::kernels_f32();  // matrix-vector kernels
  ks.micro = &micro_kernel<F32, Tile>;
  ks.micro_rows = &micro_kernel_rows<F32, Tile, kRowsUnroll>;
  ks.micro_rows_b = &micro_kernel_rows_b<F32, Tile, kRowsUnroll>;
  ks.micro_half = &micro_kernel_part<F32, Tile, 16>;
  ks.micro_rows_half = &micro_kernel_rows_part<F32, Tile, 16, kRowsUnroll>;
  ks.micro_quarter = &micro_kernel_part<Ymm32, Tile, 8>;
  ks.micro_rows_quarter = &micro_kernel_rows_part<Ymm32, Tile, 8, kRowsUnroll>;
  ks.pack_copy_nr_edge = &pack_copy_edge<F32, 32>;
  ks.pack_copy_mr = &pack_copy<float, 8, copy_vectors<Ymm32, 1>>;
  ks.pack_transpose_mr = &pack_transpose<float, 8, transpose_sliver<Ymm32, 8>>;
  ks.pack_copy_nr = &pack_copy<float, 32, copy_vectors<F32, 2>>;
  ks.pack_transpose_nr = &pack_transpose<float, 32, transpose_sliver<Ymm32, 32>>;
  ks.blocks = block_sizes<Tile>;
  return ks;
}

KernelSet<double> kernels_f64() {
  using Tile = BlockingAvx512<double>;
  static_assert(Tile::MR == 8 && Tile::NR == 16, "pack kernel widths");
  KernelSet<double> ks = avx2::kernels_f64();  // matrix-vector kernels
  ks.micro = &micro_kernel<F64, Tile>;
  ks.micro_rows = &micro_kernel_rows<F64, Tile, kRowsUnroll>;
  ks.micro_rows_b = &micro_kernel_rows_b<F64, Tile, kRowsUnroll>;
  ks.micro_half = &micro_kernel_part<F64, Tile, 8>;
  ks.micro_rows_half = &micro_kernel_rows_part<F64, Tile, 8, kRowsUnroll>;
  ks.micro_quarter = &micro_kernel_part<Ymm64, Tile, 4>;
  ks.micro_rows_quarter = &micro_kernel_rows_part<Ymm64, Tile, 4, kRowsUnroll>;
  ks.pack_copy_nr_edge = &pack_copy_edge<F64, 16>;
  ks.pack_copy_mr = &pack_copy<double, 8, copy_vectors<F64, 1>>;
  ks.pack_transpose_mr = &pack_transpose<double, 8, transpose_sliver<Ymm64, 8>>;
  ks.pack_copy_nr = &pack_copy<double, 16, copy_vectors<F64, 2>>;
  ks.pack_transpose_nr = &pack_transpose<double, 16, transpose_sliver<Ymm64, 16>>;
  ks.blocks = block_sizes<Tile>;
  return ks;
}

}  // namespace avx512
}  // namespace gemm_detail
}  // namespace pyfastnn

#endif  // PYFASTNN_X86
