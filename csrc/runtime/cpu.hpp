// What the CPU can run, and the names of the instruction sets the kernels are
// built for.
//
// The module is compiled for baseline x86-64; the AVX2/FMA kernels live in
// *_avx2.cpp files and the AVX-512 ones in *_avx512.cpp files, and they are
// called only when the CPU (and OS) supports them. Which one runs is chosen
// once, in runtime/kernel_registry.hpp.
#pragma once

#include <optional>
#include <string_view>

namespace pyfastnn {

// Ordered: each family's CPU requirements include the previous one's (an
// AVX-512 CPU here also has AVX2/FMA, and kernels that exist only for AVX2,
// e.g. the simplex maps' long rows, run under avx512 too).
enum class Isa { portable = 0, avx2 = 1, avx512 = 2 };
constexpr int kIsaCount = 3;

// True when this CPU can run the AVX2/FMA kernels (Isa::avx2).
bool cpu_supports_avx2_fma();

// True when this CPU and OS can run the AVX-512 kernels (AVX-512 F, VL, BW and
// DQ, the zmm state enabled by the OS, and AVX2/FMA).
bool cpu_supports_avx512();

bool cpu_supports(Isa isa);

// The best family this CPU supports.
Isa best_isa();

// "portable", "avx2", "avx512": the one spelling of PYFASTNN_KERNEL,
// pyfastnn.set_kernel and kernel_info().
const char* isa_name(Isa isa);

// The ISA named `name` ("portable", "avx2", "avx512"; "auto" is best_isa()),
// or nothing for any other name.
std::optional<Isa> parse_isa(std::string_view name);

// The accepted names, for messages: "'auto', 'portable', 'avx2', 'avx512'".
const char* isa_names_accepted();

}  // namespace pyfastnn

// For the helpers of a kernel template that is compiled once per ISA (each
// *_avx2.cpp / *_avx512.cpp / *_portable.cpp file includes it): inlined, they
// are compiled for that file's ISA; an out-of-line copy would be one function
// shared by every ISA, compiled for one of them.
#if defined(__GNUC__) || defined(__clang__)
#define PYFASTNN_ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define PYFASTNN_ALWAYS_INLINE inline
#endif
