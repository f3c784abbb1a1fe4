#include "nn/dense_step.hpp"

#include "gemm/gemm.hpp"
#include "nn/dense_epilogues.hpp"

namespace pyfastnn {

namespace {

// C holds X^T@dZ for the block (i0, j0) (a scratch block: gemm_consume); add
// the penalty gradient (if any) and take the optimiser step of the block of
// W and its state (row stride ld).
template <typename T>
struct PenaltyGradStep {
  const DenseParams<T>* p;
  const UpdateRule<T>* rule;
  Penalty<T> penalty;
  static void apply(const void* ctx, T* C, int64_t ldc, int64_t i0, int64_t j0, int64_t m,
                    int64_t n) {
    const auto& e = *static_cast<const PenaltyGradStep*>(ctx);
    const DenseParams<T>& p = *e.p;
    const int64_t ld = p.out;
    if (e.penalty.any()) add_penalty_grad_block(p.W, ld, e.penalty, C, ldc, i0, j0, m, n);
    const int64_t at = i0 * ld + j0;
    update_block(*e.rule, p.W + at, ld, C, ldc, p.W_s1 != nullptr ? p.W_s1 + at : nullptr,
                 p.W_s2 != nullptr ? p.W_s2 + at : nullptr, m, n);
  }
};

}  // namespace

template <typename T>
void dense_step_fused(const DenseParams<T>& p, const UpdateRule<T>& rule, int64_t n, const T* X,
                      const T* dZ, Penalty<T> penalty, T* dW, T* db) {
  // The threads split dW, hence W and its state, by rows (the GEMM's choice
  // for in >> out): each writes one contiguous part of W. Splitting by
  // columns, as the forward product does, made both cores write every 4 KB
  // page of W, m and v at once: the step of a 784-256-26 batch-64 layer took
  // 280 us instead of 180 (Adam, 2 threads on Zen 4; a plain Adam pass over
  // 200K values, column halves vs row halves: 133 vs 37 us).
  const PenaltyGradStep<T> ctx{&p, &rule, penalty};
  const GemmEpilogue<T> step{&PenaltyGradStep<T>::apply, &ctx};
  gemm_consume<T>(true, false, p.in, p.out, n, X, p.in, dZ, p.out, dW, p.out, step);
  column_sums(dZ, n, p.out, db);
  apply_update<T>(rule, p.b, db, p.b_s1, p.b_s2, p.out);
}

#define PYFASTNN_INSTANTIATE_DENSE_STEP(T)                                                  \
  template void dense_step_fused<T>(const DenseParams<T>&, const UpdateRule<T>&, int64_t, \
                                    const T*, const T*, Penalty<T>, T*, T*);
PYFASTNN_INSTANTIATE_DENSE_STEP(float)
PYFASTNN_INSTANTIATE_DENSE_STEP(double)
#undef PYFASTNN_INSTANTIATE_DENSE_STEP

}  // namespace pyfastnn
