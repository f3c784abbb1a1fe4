#include "runtime/cpu.hpp"

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>

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

Isa best_isa() {
  if (cpu_supports_avx512()) return Isa::avx512;
  if (cpu_supports_avx2_fma()) return Isa::avx2_fma;
  return Isa::portable;
}

namespace {

Isa isa_from_environment() {
  const char* env = std::getenv("PYFASTNN_KERNEL");
  if (env != nullptr) {
    if (std::strcmp(env, "portable") == 0) return Isa::portable;
    if (std::strcmp(env, "avx2") == 0 || std::strcmp(env, "avx2_fma") == 0)
      return cpu_supports_avx2_fma() ? Isa::avx2_fma : Isa::portable;
  }
  // "avx512", "auto", unset or unknown: the best the CPU supports.
  return best_isa();
}

std::atomic<int>& isa_slot() {
  static std::atomic<int> slot{static_cast<int>(isa_from_environment())};
  return slot;
}

}  // namespace

Isa active_isa() { return static_cast<Isa>(isa_slot().load(std::memory_order_relaxed)); }

void set_active_isa(Isa isa) {
  if (isa == Isa::avx2_fma && !cpu_supports_avx2_fma())
    throw std::invalid_argument("this CPU does not support AVX2/FMA");
  if (isa == Isa::avx512 && !cpu_supports_avx512())
    throw std::invalid_argument("this CPU does not support AVX-512 (F, VL, BW, DQ)");
  isa_slot().store(static_cast<int>(isa), std::memory_order_relaxed);
}

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::avx512:
      return "avx512";
    case Isa::avx2_fma:
      return "avx2_fma";
    default:
      return "portable";
  }
}

}  // namespace pyfastnn
