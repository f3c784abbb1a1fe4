#include "nn/dense_step.hpp"

#include <algorithm>
#include <atomic>

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

// C holds X^T@dZ for the block (i0, j0): add the penalty gradient (if
// any), store the block in dW (row stride ld) and, for blocks of whole rows,
// the sum of squares of each row. A row split over blocks (never seen for the
// shapes of a dense layer's weight gradient, but allowed by gemm_consume)
// marks `split`: the caller then sums dW afterwards.
template <typename T>
struct PenaltyGradSquares {
  const T* W;
  int64_t ld;
  Penalty<T> penalty;
  T* dW;
  double* row_squares;
  std::atomic<bool>* split;
  static void apply(const void* ctx, T* C, int64_t ldc, int64_t i0, int64_t j0, int64_t m,
                    int64_t n) {
    const auto& e = *static_cast<const PenaltyGradSquares*>(ctx);
    if (e.penalty.any()) add_penalty_grad_block(e.W, e.ld, e.penalty, C, ldc, i0, j0, m, n);
    const bool whole_rows = j0 == 0 && n == e.ld;
    for (int64_t r = 0; r < m; ++r) {
      const T* c = C + r * ldc;
      T* d = e.dW + (i0 + r) * e.ld + j0;
      if (d != c) std::copy(c, c + n, d);
      if (whole_rows) e.row_squares[i0 + r] = sum_of_squares_serial(c, n);
    }
    if (!whole_rows) e.split->store(true, std::memory_order_relaxed);
  }
};

}  // namespace

template <typename T>
double dense_grad_squares(const DenseParams<T>& p, int64_t n, const T* X, const T* dZ,
                          Penalty<T> penalty, T* dW, T* db, double* row_squares) {
  std::atomic<bool> split{false};
  const PenaltyGradSquares<T> ctx{p.W, p.out, penalty, dW, row_squares, &split};
  const GemmEpilogue<T> store{&PenaltyGradSquares<T>::apply, &ctx};
  gemm_consume<T>(true, false, p.in, p.out, n, X, p.in, dZ, p.out, dW, p.out, store);
  column_sums(dZ, n, p.out, db);
  double squares = 0;
  if (split.load()) {
    squares = sum_of_squares(dW, p.in * p.out);
  } else {
    for (int64_t i = 0; i < p.in; ++i) squares += row_squares[i];
  }
  return squares + sum_of_squares(db, p.out);
}

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
                                    const T*, const T*, Penalty<T>, T*, T*);                \
  template double dense_grad_squares<T>(const DenseParams<T>&, int64_t, const T*, const T*, \
                                        Penalty<T>, T*, T*, double*);
PYFASTNN_INSTANTIATE_DENSE_STEP(float)
PYFASTNN_INSTANTIATE_DENSE_STEP(double)
#undef PYFASTNN_INSTANTIATE_DENSE_STEP

}  // namespace pyfastnn
