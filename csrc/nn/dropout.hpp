// Inverted dropout on the activations of a hidden layer (training only).
//
//   dropout_forward: H (n, width) <- H * M,  M (n, width) written alongside,
//                    M[r, j] = keep ? 1 / (1 - rate) : 0,
//                    keep = uniform_at(key, r * width + j) >= rate
//
// The backward pass multiplies d loss / d H by the same M (dense.hpp,
// LayerBelow::mask). `key` is stream_key(seed, epoch, step, layer)
// (random.hpp), so the mask of a given step is a pure function of its
// coordinates: the NumPy backends draw the identical mask (pyfastnn/_random.py).
#pragma once

#include <cstdint>

namespace pyfastnn {

struct DropoutSpec {
  double rate = 0.0;  // probability of dropping a unit, in [0, 1); 0 disables dropout
  uint64_t seed = 0;
  uint64_t epoch = 0;
  uint64_t step = 0;
  bool active() const { return rate > 0.0; }
};

template <typename T>
void dropout_forward(T* H, T* M, int64_t n, int64_t width, double rate, uint64_t key);

}  // namespace pyfastnn
