#include "optim_kernels.hpp"

namespace pyfastnn {

// The rules' square root and division dominate, so the block kernel is also
// compiled for AVX-512 and AVX2 (GCC function multiversioning picks one at
// load time; every version computes the same IEEE operations).
#if defined(PYFASTNN_X86) && defined(__GNUC__) && !defined(__clang__)
#define PYFASTNN_SIMD_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define PYFASTNN_SIMD_CLONES
#endif

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
