// Run-time choice of the instruction set used by the hot kernels.
//
// The module is compiled for baseline x86-64; the AVX2/FMA kernels live in
// *_avx2.cpp files and the AVX-512 ones in *_avx512.cpp files, and they are
// called only when the CPU (and OS) supports them. PYFASTNN_KERNEL selects a
// family explicitly.
#pragma once

namespace pyfastnn {

// Ordered: each family's CPU requirements include the previous one's (an
// AVX-512 CPU here also has AVX2/FMA, and kernels that exist only for AVX2,
// e.g. the simplex maps' long rows, run under avx512 too).
enum class Isa { portable = 0, avx2_fma = 1, avx512 = 2 };

// True when this CPU can run the AVX2/FMA kernels.
bool cpu_supports_avx2_fma();

// True when this CPU and OS can run the AVX-512 kernels (AVX-512 F, VL, BW and
// DQ, the zmm state enabled by the OS, and AVX2/FMA).
bool cpu_supports_avx512();

// The best family this CPU supports.
Isa best_isa();

// The instruction set the kernels use now. Initialised from the environment
// variable PYFASTNN_KERNEL ("auto" | "avx512" | "avx2" | "portable"), default
// "auto" (the best the CPU supports); a family the CPU cannot run falls back
// to the best one it can.
Isa active_isa();

// Select the kernels; throws std::invalid_argument if the CPU cannot run them.
void set_active_isa(Isa isa);

const char* isa_name(Isa isa);

}  // namespace pyfastnn

// For plain loops that the compiler vectorises by itself (optimiser steps):
// GCC compiles the marked function for AVX-512, AVX2 and baseline x86-64 and
// picks one when the module loads (function multiversioning). Unlike the
// kernels above, this choice follows the CPU, not PYFASTNN_KERNEL.
// The body must be inlined into each clone to be compiled for its target:
// helpers it calls that the compiler would not inline by itself are marked
// PYFASTNN_INLINE_INTO_CLONES.
#if defined(PYFASTNN_X86) && defined(__GNUC__) && !defined(__clang__)
#define PYFASTNN_SIMD_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#define PYFASTNN_INLINE_INTO_CLONES __attribute__((always_inline))
#else
#define PYFASTNN_SIMD_CLONES
#define PYFASTNN_INLINE_INTO_CLONES
#endif
