#include "nn/dropout.hpp"

#include "runtime/random.hpp"
#include "runtime/parallel.hpp"

namespace pyfastnn {

namespace {
// Below this many units a mask is drawn on one thread.
constexpr int64_t kParallelMinUnits = 1 << 15;
}  // namespace

template <typename T>
void dropout_forward(T* H, T* M, int64_t n, int64_t width, double rate, uint64_t key) {
  const T scale = static_cast<T>(1.0 / (1.0 - rate));
  const int threads = n * width >= kParallelMinUnits ? num_threads() : 1;
  parallel_ranges(n, 1, threads, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const uint64_t base = static_cast<uint64_t>(r * width);
      T* h = H + r * width;
      T* m = M + r * width;
      for (int64_t j = 0; j < width; ++j) {
        const T keep = uniform_at(key, base + static_cast<uint64_t>(j)) >= rate ? scale : T(0);
        m[j] = keep;
        h[j] *= keep;
      }
    }
  });
}

template void dropout_forward<float>(float*, float*, int64_t, int64_t, double, uint64_t);
template void dropout_forward<double>(double*, double*, int64_t, int64_t, double, uint64_t);

}  // namespace pyfastnn
