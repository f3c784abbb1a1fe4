// all_finite: whether no element of x (n values, contiguous) is NaN or infinite.
//
// A single read of x, which is memory-bound for large x: the threads take
// contiguous ranges and test blocks of kFiniteBlock values each, and all stop
// at the end of the block where one of them found a non-finite value.
#pragma once

#include <cstdint>

namespace pyfastnn {

template <typename T>
bool all_finite(const T* x, int64_t n);

}  // namespace pyfastnn
