// A dense network with its workspaces: the native backend of pyfastnn.MLP.
//
// Parameters are not owned: every call receives the flat vector `params`
// laid out as W_0 (sizes[0] x sizes[1], row-major), b_0, W_1, b_1, ...
// Shapes for a batch of n samples, layer l mapping in_l -> out_l:
//   X (n, sizes[0]), Z_l and H_{l+1} (n, out_l), outputs (n, sizes.back()).
//
// Workspaces (pre-activations, activations, two gradient buffers, dropout
// masks, a minibatch gathered from X) grow to the largest batch seen and are
// then reused: no allocation per step. Forward passes and losses without
// gradients run over chunks of kEvalChunkRows rows, so evaluating a large X
// does not grow them. A mutex serialises calls on one object, so concurrent
// calls from several Python threads (GIL released) stay correct.
#pragma once

#include <cstdint>
#include <mutex>
#include <vector>

#include "nn/activations.hpp"
#include "nn/dropout.hpp"
#include "nn/losses.hpp"
#include "nn/optim.hpp"
#include "nn/optim_kernels.hpp"
#include "nn/update_forward.hpp"
#include "runtime/aligned_vector.hpp"
#include "runtime/thread_governor.hpp"
#include "runtime/threads.hpp"

namespace pyfastnn {

struct NetConfig {
  std::vector<int64_t> sizes;  // (D, H1, ..., K), at least 2 entries, each >= 1
  Activation activation;
  double activation_param;
  OutputSpec output;
};

// One epoch of minibatch training (Network::train_epoch).
struct EpochSpec {
  int64_t batch_size = 32;  // the last batch holds the remaining rows
  double l1 = 0, l2 = 0;
  DropoutSpec dropout;  // rate, seed and epoch; the step is set per minibatch
  int64_t steps_before = 0;  // optimiser steps already taken (Adam's t continues from here)
};

struct EpochResult {
  double loss_sum = 0;        // sum of the minibatch losses
  int64_t batches = 0;        // minibatches completed
  int64_t failed_batch = -1;  // index of the minibatch whose loss was not finite, or -1
};

// Rows per chunk when evaluating without gradients.
constexpr int64_t kEvalChunkRows = 2048;


template <typename T>
class Network {
 public:
  explicit Network(NetConfig config);

  const NetConfig& config() const { return config_; }
  int64_t num_params() const { return num_params_; }
  int64_t n_layers() const { return static_cast<int64_t>(config_.sizes.size()) - 1; }

  // out (n, K) = output map of the network at X (n, D). Returns false when
  // some pre-activation Z_l was NaN or infinite (out is then undefined): a
  // non-finite value in X or in any parameter always shows up in some Z_l,
  // even where an activation (tanh, relu) would hide it from the outputs.
  bool forward(const T* params, const T* X, int64_t n, T* out);

  // Returns mean loss + l2 sum W^2 + l1 sum |W|. Writes the flat parameter
  // gradient if dparams != nullptr and d loss / d X (n, D) if dX != nullptr.
  // With dropout.active(), hidden activations are masked (dropout.hpp) with
  // the stream of (seed, epoch, step). Returns NaN (gradients undefined) when
  // some Z_l was not finite.
  double loss_and_grad(const T* params, const T* X, int64_t n, TargetView<T> target, T l1, T l2,
                       T* dparams, T* dX, const DropoutSpec& dropout = {});

  // One epoch over X (n, D) with targets for all n rows: minibatch b holds rows
  // order[b*bs .. (b+1)*bs) (rows in storage order when order == nullptr), is
  // gathered into a workspace, and takes one loss_and_grad and one optimiser
  // step on `params` (`grad`, num_params values, is a workspace whose contents
  // are unspecified afterwards: the weight steps consume their gradient block
  // by block). Stops at
  // the first minibatch whose loss is not finite (EpochResult::failed_batch).
  // With adaptive_threads(), each full minibatch runs on the thread count the
  // governor picks from the times of the previous ones (thread_governor.hpp);
  // the results are the same on any count.
  EpochResult train_epoch(T* params, T* grad, const T* X, int64_t n, TargetView<T> target,
                          const int64_t* order, const EpochSpec& epoch,
                          const OptimizerSpec& optimizer, OptimizerState<T> state);

 private:
  void reserve(int64_t n, bool dropout = false);
  // Fills Z_ and H_ of layers [from, to) (to < 0: all), masking H_ when
  // dropout.active() and taking the pending weight steps on the way if any;
  // layer `from` reads X when from == 0, else H_[from - 1]. Returns false if
  // some Z_l was not finite (the pending steps are all taken even then).
  bool forward_hidden_and_logits(const T* params, const T* X, int64_t n,
                                 const DropoutSpec& dropout = {}, int64_t from = 0,
                                 int64_t to = -1);
  // With update != nullptr, each layer also takes the optimiser step on
  // update->params (== params, writable) inside its backward pass.
  // With `deferred` (batches of one row), each layer steps its bias in the
  // backward pass but only records the weight step (pending_), which the next
  // forward pass takes fused with its product (dense_update_forward): W is
  // then streamed once per step instead of three times.
  struct StepUpdate {
    UpdateRule<T> rule;
    T* params;
    OptimizerState<T> state;  // the whole flat vectors, as params
    bool deferred = false;
  };
  // Weight steps recorded by a deferred backward pass (batches of one row):
  // layer l's step uses pending_H_[l] (in_l) and pending_dZ_[l] (out_l).
  struct PendingSteps {
    bool active = false;
    UpdateRule<T> rule;
    T l1 = T(0), l2 = T(0);
    T* params = nullptr;
    OptimizerState<T> state;
  };
  DeferredStep<T> pending_step(int64_t l) const;
  // Takes the pending steps of layers [from, L) without a forward pass.
  void take_pending_steps(int64_t from);
  // The update rules' s1: velocity (momentum) or m (Adam), or null (SGD).
  static T* first_moment(const OptimizerState<T>& s) { return s.m != nullptr ? s.m : s.velocity; }
  static T* state_at(T* s, int64_t offset) { return s != nullptr ? s + offset : nullptr; }
  // `beside` (if not null) runs exactly once during the call: with a gradient
  // and two or more layers, on another thread while this one computes the
  // layers after the first (forward, loss, backward: the tail), each on one
  // thread; else after the step.
  double loss_and_grad_locked(const T* params, const T* X, int64_t n, TargetView<T> target,
                              T l1, T l2, T* dparams, T* dX, const DropoutSpec& dropout,
                              const StepUpdate* update = nullptr,
                              const TaskRef* beside = nullptr);
  // The backward pass of layer l (its input H: X for l == 0): given dZ =
  // d loss / d Z_l, writes the gradient of its parameters (or takes their
  // optimiser step, see StepUpdate) and d loss / d Z_{l-1} to dZ_prev (l > 0)
  // or d loss / d X to dX (l == 0, if not null).
  void backward_layer(int64_t l, const T* params, const T* H, int64_t n, const T* dZ,
                      T* dZ_prev, T l1, T l2, T* dparams, T* dX, const DropoutSpec& dropout,
                      const StepUpdate* update);
  // Minibatch rows gathered from X, and their targets (train_epoch).
  struct GatheredBatch {
    AlignedVector<T> X;
    std::vector<T> values;        // real targets
    std::vector<int64_t> labels;  // or labels
    TargetView<T> target;         // the one filled
  };
  // Copies rows idx[0..m) of X, and of the targets, into `into`.
  void gather_batch(const T* X, TargetView<T> target, const int64_t* idx, int64_t m,
                    GatheredBatch& into);
  // Whether a training step on m rows gathers the next minibatch beside its
  // tail (see loss_and_grad_locked): when the tail is small (network_train.cpp).
  bool gather_beside_tail(int64_t m) const;
  const T* weight(const T* params, int64_t l) const { return params + weight_offset_[l]; }
  const T* bias(const T* params, int64_t l) const { return params + bias_offset_[l]; }

  NetConfig config_;
  int64_t num_params_ = 0;
  int64_t max_width_ = 0;
  std::vector<int64_t> weight_offset_, bias_offset_;
  int64_t capacity_ = 0;             // batch size the workspaces hold
  // Workspaces start on cache lines (aligned_vector.hpp).
  std::vector<AlignedVector<T>> Z_;  // Z_[l]: pre-activations of layer l
  std::vector<AlignedVector<T>> H_;  // H_[l]: activations of hidden layer l (input of l+1)
  AlignedVector<T> grad_a_, grad_b_;  // ping-pong d loss / d Z buffers
  std::vector<AlignedVector<T>> M_;  // M_[l]: dropout mask of H_[l] (training with dropout)
  int64_t mask_capacity_ = 0;        // batch size the masks hold
  PendingSteps pending_;
  std::vector<AlignedVector<T>> pending_H_, pending_dZ_;
  GatheredBatch batches_[2];         // minibatch b is gathered into batches_[b % 2]
  ThreadGovernor governor_;          // thread count per training step, kept across epochs
  std::mutex mutex_;
};

}  // namespace pyfastnn
