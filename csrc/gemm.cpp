// PLACEHOLDER reference GEMM (triple loop) until the blocked kernel lands.
#include "gemm.hpp"

#include <vector>

namespace pyfastnn {

template <typename T>
void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, const T* A, int64_t lda,
          const T* B, int64_t ldb, T beta, T* C, int64_t ldc, const GemmEpilogue<T>* epilogue,
          int /*num_threads*/) {
  for (int64_t i = 0; i < M; ++i) {
    for (int64_t j = 0; j < N; ++j) {
      T acc = 0;
      for (int64_t k = 0; k < K; ++k) {
        T a = trans_a ? A[k * lda + i] : A[i * lda + k];
        T b = trans_b ? B[j * ldb + k] : B[k * ldb + j];
        acc += a * b;
      }
      C[i * ldc + j] = beta == T(0) ? acc : acc + beta * C[i * ldc + j];
    }
  }
  if (epilogue != nullptr && epilogue->apply != nullptr && M > 0 && N > 0)
    epilogue->apply(epilogue->ctx, C, ldc, 0, 0, M, N);
}

template void gemm<float>(bool, bool, int64_t, int64_t, int64_t, const float*, int64_t,
                          const float*, int64_t, float, float*, int64_t,
                          const GemmEpilogue<float>*, int);
template void gemm<double>(bool, bool, int64_t, int64_t, int64_t, const double*, int64_t,
                           const double*, int64_t, double, double*, int64_t,
                           const GemmEpilogue<double>*, int);

}  // namespace pyfastnn
