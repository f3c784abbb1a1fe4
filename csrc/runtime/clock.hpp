// The monotonic clock the runtime times its jobs and back-offs with.
#pragma once

#include <chrono>
#include <cstdint>

namespace pyfastnn {

// Nanoseconds of std::chrono::steady_clock (a vDSO read on Linux, ~20 ns).
inline int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace pyfastnn
