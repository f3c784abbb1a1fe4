// Run-time choice of the instruction set used by the hot kernels.
//
// The module is compiled for baseline x86-64; the AVX2/FMA kernels live in
// *_avx2.cpp files and are called only when the CPU supports them and the user
// has not forced the portable path with PYFASTNN_KERNEL=portable.
#pragma once

namespace pyfastnn {

enum class Isa { portable = 0, avx2_fma = 1 };

// True when this CPU can run the AVX2/FMA kernels.
bool cpu_supports_avx2_fma();

// The instruction set the kernels use now. Initialised from the environment
// variable PYFASTNN_KERNEL ("auto" | "avx2" | "portable"), default "auto".
Isa active_isa();

// Select the kernels; throws std::invalid_argument if the CPU cannot run them.
void set_active_isa(Isa isa);

const char* isa_name(Isa isa);

}  // namespace pyfastnn
