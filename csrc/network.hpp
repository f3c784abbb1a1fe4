// A dense network with its workspaces: the native backend of pyfastnn.MLP.
//
// Parameters are not owned: every call receives the flat vector `params`
// laid out as W_0 (sizes[0] x sizes[1], row-major), b_0, W_1, b_1, ...
// Shapes for a batch of n samples, layer l mapping in_l -> out_l:
//   X (n, sizes[0]), Z_l and H_{l+1} (n, out_l), outputs (n, sizes.back()).
//
// Workspaces (pre-activations, activations, two gradient buffers) grow to the
// largest batch seen and are then reused: no allocation per call. A mutex
// serialises calls on one object, so concurrent calls from several Python
// threads (GIL released) stay correct.
#pragma once

#include <cstdint>
#include <mutex>
#include <vector>

#include "activations.hpp"
#include "losses.hpp"

namespace pyfastnn {

struct NetConfig {
  std::vector<int64_t> sizes;  // (D, H1, ..., K), at least 2 entries, each >= 1
  Activation activation;
  double activation_param;
  OutputSpec output;
};

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
  // Returns NaN (gradients undefined) when some Z_l was not finite.
  double loss_and_grad(const T* params, const T* X, int64_t n, TargetView<T> target, T l1, T l2,
                       T* dparams, T* dX);

 private:
  void reserve(int64_t n);
  // Fills Z_ and H_; returns false if some Z_l was not finite.
  bool forward_hidden_and_logits(const T* params, const T* X, int64_t n);
  const T* weight(const T* params, int64_t l) const { return params + weight_offset_[l]; }
  const T* bias(const T* params, int64_t l) const { return params + bias_offset_[l]; }

  NetConfig config_;
  int64_t num_params_ = 0;
  int64_t max_width_ = 0;
  std::vector<int64_t> weight_offset_, bias_offset_;
  int64_t capacity_ = 0;             // batch size the workspaces hold
  std::vector<std::vector<T>> Z_;    // Z_[l]: pre-activations of layer l
  std::vector<std::vector<T>> H_;    // H_[l]: activations of hidden layer l (input of l+1)
  std::vector<T> grad_a_, grad_b_;   // ping-pong d loss / d Z buffers
  std::mutex mutex_;
};

}  // namespace pyfastnn
