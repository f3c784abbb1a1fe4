// Network<T>::train_epoch: the whole minibatch loop of one epoch in C++.
//
//   for each minibatch b (rows idx = order[b*bs .. min(n, (b+1)*bs))):
//     Xb (m, D), targets (m) or (m, K)  <- gathered rows of X and the targets
//     weights (m)                       <- and the sample weights, if any
//     loss_b; params, optimiser state   <- one training step (train_step.cpp) with
//                                          dropout step b and optimiser step
//                                          t = steps_before + b + 1
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <mutex>

#include "nn/network.hpp"
#include "runtime/contention.hpp"
#include "runtime/parallel.hpp"

namespace pyfastnn {

namespace {
// Below this many copied values a gather runs on one thread. A batch of 64
// rows of 784 floats (50K) is split: ~2% faster steps on 2 threads (each
// thread then reads half the rows from the other core's cache, instead of one
// thread reading all of them).
constexpr int64_t kParallelMinGather = 1 << 14;
// An epoch whose steps touch fewer than this many (batch rows x parameters)
// runs on one thread: such steps are a few tens of microseconds, and the
// fork/join of each layer's parallel regions costs more than they gain
// (measured 784-256-26, float32, batch 1 with the deferred steps: 27 us per
// step on one thread, 79 on two; before deferral, batch 64: 734 vs 503).
constexpr int64_t kParallelMinStepWork = int64_t(1) << 21;
// A step gathers the next minibatch (m x D values) on a second thread while
// its tail (the layers after the first, forward and backward) runs on one
// thread, when the tail is at most this many flops per gathered value; else
// the next step gathers on all threads and the tail runs on all threads.
// Gathering costs ~0.7 ns per value on one thread (random rows of X from
// memory), a small product ~0.01 ns per flop on one core and not much less on
// two. Measured 784-256-26, batch 64 (51 flops per value), 2 threads, when
// introduced: the tail took 56-68 us on one thread beside a 43 us gather,
// against 46 + 23 us with both on two threads; epochs 3% faster (12 alternating
// pairs, pairwise median). Now: a ~48 us tail beside a ~32 us gather.
constexpr double kMaxTailFlopsPerGatheredValue = 100;
// A gather asks for the rows this many rows ahead of the one it copies: the
// rows are scattered over X, so the hardware prefetcher cannot guess the next
// one, and each row would start with a full memory latency. Measured beside a
// 784-256-26 step's tail (one thread, 64 rows of 784 floats): 42 -> 32 us
// (0, 2, 4, 8 rows ahead: 42, 32, 34-41, 33 us).
constexpr int64_t kGatherPrefetchRows = 2;
constexpr size_t kCacheLine = 64;
}  // namespace

template <typename T>
void Network<T>::gather_batch(const T* X, TargetView<T> target, const int64_t* idx, int64_t m,
                              GatheredBatch& into) {
  const int64_t D = config_.sizes.front(), K = config_.sizes.back();
  if (int64_t(into.X.size()) < m * D) into.X.resize(m * D);
  T* xb = into.X.data();
  const auto copy_row = [&](int64_t r) {
    if (r + kGatherPrefetchRows < m) {
      const char* ahead = reinterpret_cast<const char*>(X + idx[r + kGatherPrefetchRows] * D);
      for (size_t b = 0; b < sizeof(T) * size_t(D); b += kCacheLine) __builtin_prefetch(ahead + b);
    }
    std::memcpy(xb + r * D, X + idx[r] * D, sizeof(T) * size_t(D));
  };
  const int threads = m * D >= kParallelMinGather ? num_threads() : 1;
  parallel_ranges(m, 1, threads, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) copy_row(r);
  });
  into.target = TargetView<T>{};
  if (target.labels != nullptr) {
    if (int64_t(into.labels.size()) < m) into.labels.resize(m);
    for (int64_t r = 0; r < m; ++r) into.labels[r] = target.labels[idx[r]];
    into.target.labels = into.labels.data();
  } else {
    if (int64_t(into.values.size()) < m * K) into.values.resize(m * K);
    for (int64_t r = 0; r < m; ++r)
      std::memcpy(into.values.data() + r * K, target.values + idx[r] * K,
                  sizeof(T) * size_t(K));
    into.target.values = into.values.data();
  }
  if (target.weights != nullptr) {
    if (int64_t(into.weights.size()) < m) into.weights.resize(m);
    for (int64_t r = 0; r < m; ++r) into.weights[r] = target.weights[idx[r]];
    into.target.weights = into.weights.data();
  }
}

template <typename T>
bool Network<T>::gather_beside_tail(int64_t m) const {
  const int64_t L = n_layers();
  if (L < 2) return false;
  double tail_flops = 0;  // forward, dW and dH products of layers 1 .. L-1
  for (int64_t l = 1; l < L; ++l)
    tail_flops += 6.0 * double(m) * double(config_.sizes[l]) * double(config_.sizes[l + 1]);
  return tail_flops <= kMaxTailFlopsPerGatheredValue * double(m * config_.sizes.front());
}

template <typename T>
EpochResult Network<T>::train_epoch(T* params, T* grad, const T* X, int64_t n,
                                    TargetView<T> target, const int64_t* order,
                                    const EpochSpec& epoch, const OptimizerSpec& optimizer,
                                    OptimizerState<T> state, EpochInterrupt interrupt) {
  std::lock_guard<std::mutex> lock(mutex_);
  const int64_t D = config_.sizes.front(), K = config_.sizes.back();
  const int64_t bs = epoch.batch_size;
  const ScopedThreadLimit limit(std::min(bs, n) * num_params_ < kParallelMinStepWork
                                    ? 1
                                    : kMaxThreads);
  const int max_threads = num_threads();
  const bool governed = max_threads > 1 && adaptive_threads();
  if (governed) governor_.configure(max_threads, bs);
  GovernorBlocks blocks;  // the governor's samples: blocks of steps
  const Penalty<T> penalty{static_cast<T>(epoch.l1), static_cast<T>(epoch.l2)};
  DropoutSpec dropout = epoch.dropout;
  const bool defer_weights = bs == 1;
  // Minibatch b is gathered into batches_[b % 2]: beside the previous step's
  // tail when gather_beside_tail, else at the start of its own step.
  const bool gather_beside =
      order != nullptr && max_threads > 1 && !defer_weights && gather_beside_tail(bs);
  int64_t next_lo = 0;
  const auto gather_next_batch = [&] {
    const int64_t b_next = next_lo / bs;
    gather_batch(X, target, order + next_lo, std::min(bs, n - next_lo), batches_[b_next % 2]);
  };
  const TaskRef gather_next(gather_next_batch);
  // With batches of one row, each step's weight steps wait here for the next
  // step's forward products. However the loop ends (finished, a failed
  // minibatch, an exception), the last ones are taken before returning.
  DeferredUpdate<T> pending(n_layers());
  struct TakeLastStep {
    Network* net;
    DeferredUpdate<T>& pending;
    T* params;
    const OptimizerState<T>& state;
    ~TakeLastStep() { net->take_deferred_steps(pending, params, state); }
  } take_last_step{this, pending, params, state};
  EpochResult result;
  bool gathered = false;  // whether minibatch b is already in batches_[b % 2]
  using Clock = std::chrono::steady_clock;
  Clock::time_point next_interrupt_check =
      Clock::now() + std::chrono::nanoseconds(EpochInterrupt::kInterruptCheckNs);
  for (int64_t lo = 0, b = 0; lo < n; lo += bs, ++b) {
    const int64_t m = std::min(bs, n - lo);
    // Only full minibatches are timed: the last one is a different step.
    const bool timed = governed && m == bs;
    const int threads = timed ? blocks.choose(governor_) : governed ? governor_.best() : max_threads;
    const ScopedThreadLimit step_limit(threads);
    const int64_t denied_before = contention_gate().denied_jobs();
    const auto start = std::chrono::steady_clock::now();
    const T* xb = X + lo * D;  // storage order: the rows are already contiguous
    TargetView<T> tb;
    if (order != nullptr) {
      GatheredBatch& batch = batches_[b % 2];
      if (!gathered) gather_batch(X, target, order + lo, m, batch);
      xb = batch.X.data();
      tb = batch.target;
    } else {
      if (target.labels != nullptr) tb.labels = target.labels + lo;
      if (target.values != nullptr) tb.values = target.values + lo * K;
      if (target.weights != nullptr) tb.weights = target.weights + lo;
    }
    next_lo = lo + bs;
    gathered = gather_beside && next_lo < n;
    dropout.step = uint64_t(b);
    const TrainStep step{make_update_rule<T>(optimizer, epoch.steps_before + b + 1),
                         penalty, dropout, params, state, grad, pending, defer_weights,
                         epoch.clip_norm};
    const double loss = train_step(step, xb, m, tb, gathered ? &gather_next : nullptr);
    if (!std::isfinite(loss)) {
      result.failed_batch = b;
      return result;
    }
    result.loss_sum += loss;
    ++result.batches;
    // A step whose jobs the contention gate kept on one thread did not run
    // on `threads`: its time would credit that count with one thread's.
    if (timed)
      blocks.record(governor_,
                    std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(),
                    contention_gate().denied_jobs() == denied_before);
    if (interrupt.requested != nullptr && lo + bs < n && Clock::now() >= next_interrupt_check) {
      if (interrupt.requested(interrupt.context)) {
        result.interrupted = true;
        // a minibatch gathered ahead is dropped; the deferred steps are taken on return
        return result;
      }
      next_interrupt_check =
          Clock::now() + std::chrono::nanoseconds(EpochInterrupt::kInterruptCheckNs);
    }
  }
  return result;
}

#define PYFASTNN_INSTANTIATE_TRAIN(T)                                                        \
  template EpochResult Network<T>::train_epoch(T*, T*, const T*, int64_t, TargetView<T>,    \
                                               const int64_t*, const EpochSpec&,            \
                                               const OptimizerSpec&, OptimizerState<T>,     \
                                               EpochInterrupt);
PYFASTNN_INSTANTIATE_TRAIN(float)
PYFASTNN_INSTANTIATE_TRAIN(double)
#undef PYFASTNN_INSTANTIATE_TRAIN

}  // namespace pyfastnn
