#include "optim_kernels.hpp"

#include "cpu.hpp"

namespace pyfastnn {

// The rules' square root and division dominate, so the block kernel is
// multiversioned (PYFASTNN_SIMD_CLONES, cpu.hpp).

namespace {
template <typename T>
inline void update_rows(const UpdateRule<T>& r, T* p, const T* g, T* s1, T* s2, int64_t m,
                        int64_t n, int64_t ld) {
  for (int64_t i = 0; i < m; ++i) {
    const int64_t at = i * ld;
    apply_update<T>(r, p + at, g + at, s1 != nullptr ? s1 + at : nullptr,
                    s2 != nullptr ? s2 + at : nullptr, n);
  }
}
}  // namespace

PYFASTNN_SIMD_CLONES void update_block(const UpdateRule<float>& r, float* p, const float* g,
                                       float* s1, float* s2, int64_t m, int64_t n, int64_t ld) {
  update_rows<float>(r, p, g, s1, s2, m, n, ld);
}

PYFASTNN_SIMD_CLONES void update_block(const UpdateRule<double>& r, double* p, const double* g,
                                       double* s1, double* s2, int64_t m, int64_t n, int64_t ld) {
  update_rows<double>(r, p, g, s1, s2, m, n, ld);
}

}  // namespace pyfastnn
