// Cache prefetch hints (no-ops on compilers without __builtin_prefetch).
#pragma once

namespace pyfastnn {

// Hint that the line holding p will soon be written.
inline void prefetch_for_write(const void* p) {
#if defined(__GNUC__) || defined(__clang__)
  __builtin_prefetch(p, 1);
#else
  (void)p;
#endif
}

}  // namespace pyfastnn
