#include "cpu.hpp"

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

namespace {

Isa isa_from_environment() {
  const char* env = std::getenv("PYFASTNN_KERNEL");
  if (env != nullptr && std::strcmp(env, "portable") == 0) return Isa::portable;
  // "avx2", "auto", unset or unknown: the best the CPU supports.
  return cpu_supports_avx2_fma() ? Isa::avx2_fma : Isa::portable;
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
  isa_slot().store(static_cast<int>(isa), std::memory_order_relaxed);
}

const char* isa_name(Isa isa) { return isa == Isa::avx2_fma ? "avx2_fma" : "portable"; }

}  // namespace pyfastnn
