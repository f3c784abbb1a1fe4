// A dense network with its workspaces: the native backend of pyfastnn.MLP.
//
//   network.cpp        forward, loss_and_grad: the plain layer loop (dense.hpp)
//   train_step.cpp     one optimiser step on a minibatch, fused (dense_step.hpp,
//                      deferred_update.hpp), and its unfused reference
//   network_train.cpp  train_epoch: the minibatch loop of an epoch
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

#include "nn/deferred_update.hpp"
#include "nn/dense.hpp"
#include "nn/dense_step.hpp"
#include "nn/dropout.hpp"
#include "nn/losses.hpp"
#include "nn/optim.hpp"
#include "nn/optim_kernels.hpp"
#include "runtime/aligned_vector.hpp"
#include "runtime/thread_governor.hpp"
#include "runtime/parallel.hpp"

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
  double clip_norm = 0;      // > 0: each step's gradient g <- g min(1, clip_norm / ||g||)
};

struct EpochResult {
  double loss_sum = 0;        // sum of the minibatch losses
  int64_t batches = 0;        // minibatches completed
  int64_t failed_batch = -1;  // index of the minibatch whose loss was not finite, or -1
  bool interrupted = false;   // stopped early because EpochInterrupt asked
};

// Asked between minibatches, at most every kInterruptCheckNs, whether the
// epoch should stop (the bindings: whether Python has a pending signal such as
// Ctrl-C). An interrupted epoch ends after its last finished step, with any
// deferred weight step taken.
struct EpochInterrupt {
  bool (*requested)(void* context) = nullptr;
  void* context = nullptr;
  // Ctrl-C takes effect within this much of a step's end (and no check costs
  // more than one clock read per step in between).
  static constexpr int64_t kInterruptCheckNs = 20'000'000;
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

  // Returns mean loss + l2 sum W^2 + l1 sum |W| (the weighted mean with
  // target.weights: sum w_i loss_i / sum w_i, losses.hpp). Writes the flat parameter
  // gradient if dparams != nullptr and d loss / d X (n, D) if dX != nullptr.
  // With dropout.active(), hidden activations are masked (dropout.hpp) with
  // the stream of (seed, epoch, step). Returns NaN (gradients undefined) when
  // some Z_l was not finite.
  double loss_and_grad(const T* params, const T* X, int64_t n, TargetView<T> target, T l1, T l2,
                       T* dparams, T* dX, const DropoutSpec& dropout = {});

  // One epoch over X (n, D) with targets for all n rows: minibatch b holds rows
  // order[b*bs .. (b+1)*bs) (rows in storage order when order == nullptr), is
  // gathered into a workspace, and takes one training step (train_step.cpp)
  // on `params` (`grad`, num_params values, is a workspace whose contents
  // are unspecified afterwards: the weight steps consume their gradient block
  // by block). Stops at
  // the first minibatch whose loss is not finite (EpochResult::failed_batch).
  // With adaptive_threads(), each full minibatch runs on the thread count the
  // governor picks from the times of the previous ones (thread_governor.hpp);
  // the results are the same on any count.
  EpochResult train_epoch(T* params, T* grad, const T* X, int64_t n, TargetView<T> target,
                          const int64_t* order, const EpochSpec& epoch,
                          const OptimizerSpec& optimizer, OptimizerState<T> state,
                          EpochInterrupt interrupt = {});

  // The reference for one step of train_epoch (minibatch X (n, D), the
  // epoch's penalty and dropout stream at dropout.step, optimiser step t,
  // clipping at clip_norm if > 0), unfused: loss_and_grad into grad
  // (num_params), then (clip_norm > 0) grad *= min(1, clip_norm / ||grad||),
  // then one update of all of params and the state from grad. Returns the
  // loss, NaN (nothing updated) when it is not finite.
  double reference_step(T* params, T* grad, const T* X, int64_t n, TargetView<T> target, T l1,
                        T l2, const DropoutSpec& dropout, const OptimizerSpec& optimizer,
                        int64_t t, OptimizerState<T> state, double clip_norm = 0);

 private:
  // One optimiser step on a minibatch (train_step.cpp): penalty, dropout
  // stream, the rule of this step and the parameters and state it updates.
  // With `defer_weights` (minibatches of one row), the weight steps wait in
  // `deferred` for the next step's forward products; else each layer's step
  // is fused into its weight gradient product. Either way the forward pass
  // first takes the steps pending in `deferred`. With clip_norm > 0 no step
  // is taken during the backward pass (the clipping factor needs the norm of
  // the whole gradient): see clipped_update.
  struct TrainStep {
    UpdateRule<T> rule;
    Penalty<T> penalty;
    DropoutSpec dropout;
    T* params;
    OptimizerState<T> state;  // the whole flat vectors, as params
    T* grad;                  // num_params values of workspace
    DeferredUpdate<T>& deferred;
    bool defer_weights;
    double clip_norm = 0;
  };

  void reserve(int64_t n, bool dropout = false);
  const T* weight(const T* params, int64_t l) const { return params + weight_offset_[l]; }
  // Layer l's parameters in `params` (read only).
  DenseLayer<T> layer(const T* params, int64_t l) const;
  // Layer l's parameters in `params` and their optimiser state (writable).
  DenseParams<T> layer_params(T* params, const OptimizerState<T>& state, int64_t l) const;
  // Layer l's input, X for l == 0, else H_[l - 1].
  const T* layer_input(const T* X, int64_t l) const { return l == 0 ? X : H_[l - 1].data(); }
  // Layer l's activations, H_[l], or nullptr for the output layer.
  T* layer_output(int64_t l) { return l + 1 < n_layers() ? H_[l].data() : nullptr; }
  // The layer below l > 0, for the backward pass into Z_{l-1}.
  LayerBelow<T> layer_below(int64_t l, const DropoutSpec& dropout) const;
  // Masks H_[l] (hidden layer l, n rows) when dropout.active().
  void drop_hidden(int64_t l, int64_t n, const DropoutSpec& dropout);
  // sum + the penalties of the weights of layers [from, to), added in order.
  double penalty_of(const T* params, int64_t from, int64_t to, Penalty<T> penalty,
                    double sum = 0) const;

  // Fills Z_ and H_ of all layers, masking H_ when dropout.active(). Returns
  // false if some Z_l was not finite.
  bool forward_layers(const T* params, const T* X, int64_t n, const DropoutSpec& dropout);
  // The loss of n rows (mean loss + penalty) and, when dparams or dX is
  // given, the backward pass: the plain path of loss_and_grad and
  // reference_step.
  double loss_and_grad_locked(const T* params, const T* X, int64_t n, TargetView<T> target,
                              Penalty<T> penalty, T* dparams, T* dX, const DropoutSpec& dropout);

  // One training step on n rows (train_step.cpp); returns the loss (NaN when
  // not finite: params may then have taken part of the step). `beside` (if
  // not null) runs exactly once during the call: with two or more layers, on
  // another thread while this one computes the layers after the first
  // (forward, loss, backward: the tail), each on one thread; else after the
  // step.
  double train_step(const TrainStep& step, const T* X, int64_t n, TargetView<T> target,
                    const TaskRef* beside);
  // Layers [from, to) forward for a training step: each takes its deferred
  // weight step first, if one is pending, fused with its product. Returns
  // false if some Z_l was not finite (the pending steps are all taken even
  // then).
  bool train_forward(const TrainStep& step, const T* X, int64_t n, int64_t from, int64_t to);
  // Layer l's backward pass and its optimiser step, given dZ = d loss / d Z_l:
  // first d loss / d Z_{l-1} into dZ_below (l > 0, from W before the step),
  // then the step (fused, or its weights deferred).
  void train_backward(const TrainStep& step, int64_t l, const T* X, int64_t n, const T* dZ,
                      T* dZ_below);
  // The step of a clipped training step, after its backward pass: the
  // gradient's norm, the factor s = min(1, clip_norm / norm), then the update
  // with s * g: with defer_weights, the biases' now (db in grad) and the
  // weights' through `deferred` (its pending h, dz; no pass over W without a
  // penalty); else one pass over all of params, grad and the state.
  void clipped_update(const TrainStep& step);
  // Takes every weight step pending in `deferred`.
  void take_deferred_steps(DeferredUpdate<T>& deferred, T* params,
                           const OptimizerState<T>& state);

  // Minibatch rows gathered from X, and their targets (train_epoch).
  struct GatheredBatch {
    AlignedVector<T> X;
    std::vector<T> values;        // real targets
    std::vector<int64_t> labels;  // or labels
    std::vector<T> weights;       // sample weights, if any
    TargetView<T> target;         // the one filled
  };
  // Copies rows idx[0..m) of X, and of the targets, into `into`.
  void gather_batch(const T* X, TargetView<T> target, const int64_t* idx, int64_t m,
                    GatheredBatch& into);
  // Whether a training step on m rows gathers the next minibatch beside its
  // tail (see train_step): when the tail is small (network_train.cpp).
  bool gather_beside_tail(int64_t m) const;

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
  GatheredBatch batches_[2];         // minibatch b is gathered into batches_[b % 2]
  std::vector<double> clip_squares_;  // per layer: ||g||^2 of a clipped step (train_step.cpp)
  std::vector<double> clip_rows_;     // per row of dW: its squares (dense_grad_squares)
  ThreadGovernor governor_;          // thread count per training step, kept across epochs
  std::mutex mutex_;
};

}  // namespace pyfastnn
