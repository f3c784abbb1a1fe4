#include "nn/layers.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>

#include <omp.h>

#include "gemm/gemm.hpp"
#include "runtime/ordered_sum.hpp"
#include "runtime/threads.hpp"

namespace pyfastnn {

namespace {

// Below this many elements a reduction runs on one thread.
constexpr int64_t kParallelMinElements = 1 << 15;
// Weights per partial sum of the penalty (ordered_sum.hpp).
constexpr int64_t kPenaltyChunk = 1 << 14;
// Below this many weights a deferred step (and its forward product) runs on
// one thread: it streams W once, like an outer product (gemm.cpp's crossover).
constexpr int64_t kParallelMinStepElements = 1 << 16;

// ---- GEMM epilogues -------------------------------------------------------------
// Each works on rows [i0, i0+m), columns [j0, j0+n) of C, given at C (the
// block's first element, row stride ldc); the other arrays they read or write
// have C's shape, with their own row stride `ld`.

// C holds X@W; add the bias, keep Z in C, write A = f(Z), and note whether
// any Z was NaN or infinite (z - z is 0 for finite z and NaN otherwise).
template <typename T>
struct BiasActivation {
  const T* bias;
  Activation act;
  T param;
  T* A;  // row stride ld, or nullptr: no activation
  int64_t ld;
  std::atomic<bool>* nonfinite;
  static void apply(const void* ctx, T* C, int64_t ldc, int64_t i0, int64_t j0, int64_t m,
                    int64_t n) {
    const auto& e = *static_cast<const BiasActivation*>(ctx);
    T check = 0;
    for (int64_t r = 0; r < m; ++r) {
      T* z = C + r * ldc;
      for (int64_t j = 0; j < n; ++j) {
        z[j] += e.bias[j0 + j];
        check += z[j] - z[j];
      }
      if (e.A != nullptr) activation_forward(e.act, e.param, z, e.A + (i0 + r) * e.ld + j0, n);
    }
    if (check != T(0)) e.nonfinite->store(true, std::memory_order_relaxed);
  }
};

// C holds dZ@W^T = dH; multiply by the dropout mask (if any), then by
// f'(Z_prev), to get d loss / d Z_prev.
template <typename T>
struct ActivationGrad {
  const T* Z;     // row stride ld
  const T* mask;  // row stride ld, or nullptr: no dropout
  int64_t ld;
  Activation act;
  T param;
  static void apply(const void* ctx, T* C, int64_t ldc, int64_t i0, int64_t j0, int64_t m,
                    int64_t n) {
    const auto& e = *static_cast<const ActivationGrad*>(ctx);
    const int64_t at = i0 * e.ld + j0;
    if (e.mask != nullptr) {
      for (int64_t r = 0; r < m; ++r) {
        T* c = C + r * ldc;
        const T* mk = e.mask + at + r * e.ld;
        for (int64_t j = 0; j < n; ++j) c[j] *= mk[j];
      }
    }
    activation_backward(e.act, e.param, e.Z + at, e.ld, C, ldc, C, ldc, m, n);
  }
};

// The block of C (at C, row stride ldc) += the penalty gradient at block
// (i0, j0) of W (row stride ldw).
template <typename T>
void add_penalty_grad(const T* W, int64_t ldw, T l1, T l2, T* C, int64_t ldc, int64_t i0,
                      int64_t j0, int64_t m, int64_t n) {
  for (int64_t r = 0; r < m; ++r)
    add_penalty_grad_row(W + (i0 + r) * ldw + j0, l1, l2, C + r * ldc, n);
}

// C holds H^T@dZ; add the gradient of the penalty.
template <typename T>
struct PenaltyGrad {
  const T* W;  // row stride ld
  int64_t ld;
  T l1, l2;
  static void apply(const void* ctx, T* C, int64_t ldc, int64_t i0, int64_t j0, int64_t m,
                    int64_t n) {
    const auto& e = *static_cast<const PenaltyGrad*>(ctx);
    add_penalty_grad(e.W, e.ld, e.l1, e.l2, C, ldc, i0, j0, m, n);
  }
};

// C holds H^T@dZ (possibly a scratch block: GemmEpilogue::discard_c); add the
// penalty gradient (if any) and apply the optimiser step to the block of W
// and its state.
template <typename T>
struct PenaltyGradUpdate {
  const FusedUpdate<T>* u;  // W and its state: row stride ld
  int64_t ld;
  T l1, l2;
  static void apply(const void* ctx, T* C, int64_t ldc, int64_t i0, int64_t j0, int64_t m,
                    int64_t n) {
    const auto& e = *static_cast<const PenaltyGradUpdate*>(ctx);
    const FusedUpdate<T>& u = *e.u;
    if (e.l1 != T(0) || e.l2 != T(0)) add_penalty_grad(u.W, e.ld, e.l1, e.l2, C, ldc, i0, j0, m, n);
    const int64_t at = i0 * e.ld + j0;
    update_block(u.rule, u.W + at, e.ld, C, ldc, u.W_s1 != nullptr ? u.W_s1 + at : nullptr,
                 u.W_s2 != nullptr ? u.W_s2 + at : nullptr, m, n);
  }
};

// db (out) = column sums of dZ (n, out). Column blocks go to threads; each
// thread walks the rows of its block, so reads stay sequential.
template <typename T>
void column_sums(const T* dZ, int64_t n, int64_t out, T* db) {
  constexpr int64_t kColumnBlock = 64;
  const int64_t blocks = (out + kColumnBlock - 1) / kColumnBlock;
  const int threads = n * out >= kParallelMinElements && blocks > 1 ? num_threads() : 1;
  const auto block_sums = [&](int64_t blk) {
    const int64_t j0 = blk * kColumnBlock;
    const int64_t j1 = std::min(out, j0 + kColumnBlock);
    for (int64_t j = j0; j < j1; ++j) db[j] = T(0);
    for (int64_t i = 0; i < n; ++i) {
      const T* row = dZ + i * out;
      for (int64_t j = j0; j < j1; ++j) db[j] += row[j];
    }
  };
  if (threads == 1) {  // no team of one: inside another region that costs a team start
    for (int64_t blk = 0; blk < blocks; ++blk) block_sums(blk);
    return;
  }
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int64_t blk = 0; blk < blocks; ++blk) block_sums(blk);
}

}  // namespace

template <typename T>
bool dense_forward(DenseShape s, const T* H, const T* W, const T* b, T* Z, Activation act,
                   T act_param, T* A) {
  std::atomic<bool> nonfinite{false};
  const BiasActivation<T> ctx{b, act, act_param, A, s.out, &nonfinite};
  const GemmEpilogue<T> epilogue{&BiasActivation<T>::apply, &ctx};
  gemm<T>(false, false, s.n, s.out, s.in, H, s.in, W, s.out, T(0), Z, s.out, &epilogue);
  return !nonfinite.load();
}

template <typename T>
bool dense_update_forward(DenseShape s, const T* H, const DeferredStep<T>& step, T* W, T* W_s1,
                          T* W_s2, const T* b, T* Z, Activation act, T act_param, T* A) {
  std::atomic<bool> nonfinite{false};
  const BiasActivation<T> ctx{b, act, act_param, A, s.out, &nonfinite};
  constexpr int64_t kLine = 64 / sizeof(T);
  const int64_t pieces = (s.out + kLine - 1) / kLine;
  const int threads =
      s.in * s.out >= kParallelMinStepElements ? int(std::min<int64_t>(num_threads(), pieces)) : 1;
#pragma omp parallel num_threads(threads)
  {
    const auto [j0, j1] = split_range(s.out, kLine, omp_get_thread_num(), omp_get_num_threads());
    if (j0 < j1) {
      update_rows_forward(step, W, W_s1, W_s2, s.in, s.out, s.n > 0 ? H : nullptr, Z, j0, j1);
      if (s.n > 0) BiasActivation<T>::apply(&ctx, Z + j0, s.out, 0, j0, 1, j1 - j0);
    }
  }
  return !nonfinite.load();
}

template <typename T>
void dense_backward(DenseShape s, const T* H, const T* W, const T* dZ, T l1, T l2, T* dW,
                    T* db, T* dH, const T* Z_prev, Activation act_prev, T act_param,
                    const T* mask, const FusedUpdate<T>* update) {
  if (update != nullptr) {
    // dH first: it needs W before the step.
    dense_backward<T>(s, H, W, dZ, l1, l2, nullptr, nullptr, dH, Z_prev, act_prev, act_param,
                      mask, nullptr);
    // dW itself is not kept: the step consumes each block (discard_c). The
    // threads split dW, hence W and its state, by rows (the GEMM's choice for
    // in >> out): each writes one contiguous part of W. Splitting by columns,
    // as the forward product does, made both cores write every 4 KB page of
    // W, m and v at once: the step of a 784-256-26 batch-64 layer took
    // 280 us instead of 180 (Adam, 2 threads on Zen 4; a plain Adam pass over
    // 200K values, column halves vs row halves: 133 vs 37 us).
    const PenaltyGradUpdate<T> ctx{update, s.out, l1, l2};
    const GemmEpilogue<T> epilogue{&PenaltyGradUpdate<T>::apply, &ctx, /*whole_blocks=*/true,
                                   /*discard_c=*/true};
    gemm<T>(true, false, s.in, s.out, s.n, H, s.in, dZ, s.out, T(0), dW, s.out, &epilogue);
    column_sums(dZ, s.n, s.out, db);
    apply_update<T>(update->rule, update->b, db, update->b_s1, update->b_s2, s.out);
    return;
  }
  if (dW != nullptr) {
    const PenaltyGrad<T> ctx{W, s.out, l1, l2};
    const GemmEpilogue<T> epilogue{&PenaltyGrad<T>::apply, &ctx};
    const bool penalised = l1 != T(0) || l2 != T(0);
    gemm<T>(true, false, s.in, s.out, s.n, H, s.in, dZ, s.out, T(0), dW, s.out,
            penalised ? &epilogue : nullptr);
  }
  if (db != nullptr) column_sums(dZ, s.n, s.out, db);
  if (dH != nullptr) {
    const ActivationGrad<T> ctx{Z_prev, mask, s.in, act_prev, act_param};
    const GemmEpilogue<T> epilogue{&ActivationGrad<T>::apply, &ctx};
    gemm<T>(false, true, s.n, s.in, s.out, dZ, s.out, W, s.out, T(0), dH, s.in,
            Z_prev != nullptr ? &epilogue : nullptr);
  }
}

template <typename T>
double weight_penalty(const T* W, int64_t count, T l1, T l2) {
  if (l1 == T(0) && l2 == T(0)) return 0.0;
  const int threads = count >= kParallelMinElements ? num_threads() : 1;
  return ordered_chunk_sum(count, kPenaltyChunk, threads, [&](int64_t i0, int64_t i1) {
    double sq = 0, abs = 0;
    for (int64_t i = i0; i < i1; ++i) {
      const double w = double(W[i]);
      sq += w * w;
      abs += std::fabs(w);
    }
    return double(l2) * sq + double(l1) * abs;
  });
}

#define PYFASTNN_INSTANTIATE_LAYERS(T)                                                         \
  template bool dense_forward<T>(DenseShape, const T*, const T*, const T*, T*, Activation, \
                                 T, T*);                                                      \
  template bool dense_update_forward<T>(DenseShape, const T*, const DeferredStep<T>&, T*, T*, \
                                        T*, const T*, T*, Activation, T, T*);                   \
  template void dense_backward<T>(DenseShape, const T*, const T*, const T*, T, T, T*, T*,  \
                                  T*, const T*, Activation, T, const T*,                      \
                                  const FusedUpdate<T>*);                                        \
  template double weight_penalty<T>(const T*, int64_t, T, T);
PYFASTNN_INSTANTIATE_LAYERS(float)
PYFASTNN_INSTANTIATE_LAYERS(double)
#undef PYFASTNN_INSTANTIATE_LAYERS

}  // namespace pyfastnn
