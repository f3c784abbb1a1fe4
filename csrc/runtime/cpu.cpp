#include "runtime/cpu.hpp"

namespace pyfastnn {

bool cpu_supports_avx2_fma() {
#if defined(PYFASTNN_X86) && (defined(__GNUC__) || defined(__clang__))
  static const bool ok = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return ok;
#else
  return false;
#endif
}

bool cpu_supports_avx512() {
#if defined(PYFASTNN_X86) && (defined(__GNUC__) || defined(__clang__))
  // GCC >= 12 and clang also check in XCR0 that the OS saves the opmask and
  // zmm registers before reporting the avx512* features.
  static const bool ok = cpu_supports_avx2_fma() && __builtin_cpu_supports("avx512f") &&
                         __builtin_cpu_supports("avx512vl") &&
                         __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq");
  return ok;
#else
  return false;
#endif
}

bool cpu_supports(Isa isa) {
  switch (isa) {
    case Isa::avx512:
      return cpu_supports_avx512();
    case Isa::avx2:
      return cpu_supports_avx2_fma();
    default:
      return true;
  }
}

Isa best_isa() {
  if (cpu_supports_avx512()) return Isa::avx512;
  if (cpu_supports_avx2_fma()) return Isa::avx2;
  return Isa::portable;
}

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::avx512:
      return "avx512";
    case Isa::avx2:
      return "avx2";
    default:
      return "portable";
  }
}

std::optional<Isa> parse_isa(std::string_view name) {
  if (name == "auto") return best_isa();
  for (Isa isa : {Isa::portable, Isa::avx2, Isa::avx512})
    if (name == isa_name(isa)) return isa;
  return std::nullopt;
}

const char* isa_names_accepted() { return "'auto', 'portable', 'avx2', 'avx512'"; }

}  // namespace pyfastnn
