// Counter-based random numbers: the value at (key, i) is a pure function, so
// the C++ epoch loop and the NumPy twin (pyfastnn/_random.py) draw the same
// dropout masks without sharing a generator state.
//
// The mixing function is the SplitMix64 finaliser (Steele, Lea & Flood 2014,
// "Fast splittable pseudorandom number generators"); value i of a stream is
// the finaliser applied to key + (i + 1) * golden, as in SplitMix64 itself.
#pragma once

#include <cstdint>

namespace pyfastnn {

constexpr uint64_t kGolden = 0x9E3779B97F4A7C15ULL;

inline uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

// A stream key from a seed and up to three stream coordinates (epoch, step, layer).
inline uint64_t stream_key(uint64_t seed, uint64_t a, uint64_t b, uint64_t c) {
  uint64_t k = mix64(seed + kGolden);
  k = mix64(k + a + kGolden);
  k = mix64(k + b + kGolden);
  return mix64(k + c + kGolden);
}

// Uniform double in [0, 1) with 53 random bits: value i of stream `key`.
inline double uniform_at(uint64_t key, uint64_t i) {
  return static_cast<double>(mix64(key + (i + 1) * kGolden) >> 11) * 0x1.0p-53;
}

}  // namespace pyfastnn
