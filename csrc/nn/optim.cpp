#include "nn/optim_kernels.hpp"

#include "runtime/cpu.hpp"

namespace pyfastnn {

// The rules' square root and division dominate, so the block kernel is
// multiversioned (PYFASTNN_SIMD_CLONES, cpu.hpp).

namespace {
template <typename T>
inline void update_rows(const UpdateRule<T>& r, T* p, int64_t ld, const T* g, int64_t ldg,
                        T* s1, T* s2, int64_t m, int64_t n) {
  for (int64_t i = 0; i < m; ++i) {
    const int64_t at = i * ld;
    apply_update<T>(r, p + at, g + i * ldg, s1 != nullptr ? s1 + at : nullptr,
                    s2 != nullptr ? s2 + at : nullptr, n);
  }
}
}  // namespace

PYFASTNN_SIMD_CLONES void update_block(const UpdateRule<float>& r, float* p, int64_t ld,
                                       const float* g, int64_t ldg, float* s1, float* s2,
                                       int64_t m, int64_t n) {
  update_rows<float>(r, p, ld, g, ldg, s1, s2, m, n);
}

PYFASTNN_SIMD_CLONES void update_block(const UpdateRule<double>& r, double* p, int64_t ld,
                                       const double* g, int64_t ldg, double* s1, double* s2,
                                       int64_t m, int64_t n) {
  update_rows<double>(r, p, ld, g, ldg, s1, s2, m, n);
}

}  // namespace pyfastnn
