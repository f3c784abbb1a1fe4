#include "nn/network.hpp"

#include <algorithm>
#include <limits>
#include <stdexcept>
#include <utility>

#include "runtime/random.hpp"

namespace pyfastnn {

template <typename T>
Network<T>::Network(NetConfig config)
    : config_(std::move(config)) {
  if (config_.sizes.size() < 2) throw std::invalid_argument("sizes: need at least 2 entries");
  // (bindings.cpp bounds the parameter count, so the sums below cannot overflow)
  for (int64_t s : config_.sizes)
    if (s < 1) throw std::invalid_argument("sizes: every size must be >= 1");
  if (!output_loss_valid(config_.output))
    throw std::invalid_argument("output: unsupported output/loss pair or parameter");
  const int64_t L = n_layers();
  for (int64_t l = 0; l < L; ++l) {
    const int64_t in = config_.sizes[l], out = config_.sizes[l + 1];
    weight_offset_.push_back(num_params_);
    num_params_ += in * out;
    bias_offset_.push_back(num_params_);
    num_params_ += out;
  }
  max_width_ = *std::max_element(config_.sizes.begin(), config_.sizes.end());
  Z_.resize(L);
  H_.resize(L - 1);
  M_.resize(L - 1);
}

template <typename T>
void Network<T>::reserve(int64_t n, bool dropout) {
  const int64_t L = n_layers();
  if (n > capacity_) {
    for (int64_t l = 0; l < L; ++l) Z_[l].resize(n * config_.sizes[l + 1]);
    for (int64_t l = 0; l + 1 < L; ++l) H_[l].resize(n * config_.sizes[l + 1]);
    grad_a_.resize(n * max_width_);
    grad_b_.resize(n * max_width_);
    capacity_ = n;
  }
  if (dropout && n > mask_capacity_) {
    for (int64_t l = 0; l + 1 < L; ++l) M_[l].resize(n * config_.sizes[l + 1]);
    mask_capacity_ = n;
  }
}

template <typename T>
DenseLayer<T> Network<T>::layer(const T* params, int64_t l) const {
  return DenseLayer<T>{config_.sizes[l],          config_.sizes[l + 1],
                       params + weight_offset_[l], params + bias_offset_[l],
                       config_.activation,         static_cast<T>(config_.activation_param)};
}

template <typename T>
DenseParams<T> Network<T>::layer_params(T* params, const OptimizerState<T>& state,
                                        int64_t l) const {
  const int64_t w = weight_offset_[l], b = bias_offset_[l];
  // The rules' first state: velocity (momentum) or m (Adam); the second: v.
  T* s1 = state.m != nullptr ? state.m : state.velocity;
  T* s2 = state.v;
  const auto at = [](T* s, int64_t offset) { return s != nullptr ? s + offset : nullptr; };
  return DenseParams<T>{config_.sizes[l], config_.sizes[l + 1], params + w, params + b,
                        at(s1, w),        at(s1, b),            at(s2, w),  at(s2, b)};
}

template <typename T>
LayerBelow<T> Network<T>::layer_below(int64_t l, const DropoutSpec& dropout) const {
  // d loss / d Z_{l-1} needs the previous layer's pre-activations and mask;
  // for the relu family its (masked) activations H_{l-1} will do, which this
  // layer's products read anyway, while Z_{l-1} would be read only here (and
  // partly from another core's cache after a product split among threads).
  const T param = static_cast<T>(config_.activation_param);
  const T* Z = derivative_from_activations(config_.activation, param) ? H_[l - 1].data()
                                                                      : Z_[l - 1].data();
  const T* mask = dropout.active() ? M_[l - 1].data() : nullptr;
  return LayerBelow<T>{Z, mask, config_.activation, param};
}

template <typename T>
void Network<T>::drop_hidden(int64_t l, int64_t n, const DropoutSpec& dropout) {
  if (!dropout.active() || l + 1 == n_layers()) return;
  const uint64_t key = stream_key(dropout.seed, dropout.epoch, dropout.step, uint64_t(l));
  dropout_forward<T>(H_[l].data(), M_[l].data(), n, config_.sizes[l + 1], dropout.rate, key);
}

template <typename T>
double Network<T>::penalty_of(const T* params, int64_t from, int64_t to, Penalty<T> penalty,
                              double sum) const {
  for (int64_t l = from; l < to; ++l)
    sum += weight_penalty<T>(weight(params, l), config_.sizes[l] * config_.sizes[l + 1], penalty);
  return sum;
}

template <typename T>
bool Network<T>::forward_layers(const T* params, const T* X, int64_t n,
                                const DropoutSpec& dropout) {
  for (int64_t l = 0; l < n_layers(); ++l) {
    if (!dense_forward(layer(params, l), n, layer_input(X, l), Z_[l].data(), layer_output(l)))
      return false;
    drop_hidden(l, n, dropout);
  }
  return true;
}

template <typename T>
bool Network<T>::forward(const T* params, const T* X, int64_t n, T* out) {
  std::lock_guard<std::mutex> lock(mutex_);
  const int64_t D = config_.sizes.front(), K = config_.sizes.back();
  reserve(std::min(n, kEvalChunkRows));
  for (int64_t i0 = 0; i0 < n; i0 += kEvalChunkRows) {
    const int64_t m = std::min(kEvalChunkRows, n - i0);
    if (!forward_layers(params, X + i0 * D, m, {})) return false;
    output_forward<T>(config_.output, Z_.back().data(), m, K, out + i0 * K);
  }
  return true;
}

template <typename T>
double Network<T>::loss_and_grad(const T* params, const T* X, int64_t n, TargetView<T> target,
                                 T l1, T l2, T* dparams, T* dX, const DropoutSpec& dropout) {
  std::lock_guard<std::mutex> lock(mutex_);
  const Penalty<T> penalty{l1, l2};
  if (dparams != nullptr || dX != nullptr || dropout.active())
    return loss_and_grad_locked(params, X, n, target, penalty, dparams, dX, dropout);
  // Loss only: in chunks, so a large X does not grow the workspaces. Each
  // chunk gives its (weighted) mean loss; back to a (weighted) sum, times the
  // chunk's weight sum (m without weights), then over the sum of all weights.
  const int64_t D = config_.sizes.front(), K = config_.sizes.back();
  double total = 0;
  for (int64_t i0 = 0; i0 < n; i0 += kEvalChunkRows) {
    const int64_t m = std::min(kEvalChunkRows, n - i0);
    TargetView<T> chunk;
    if (target.labels != nullptr) chunk.labels = target.labels + i0;
    if (target.values != nullptr) chunk.values = target.values + i0 * K;
    if (target.weights != nullptr) chunk.weights = target.weights + i0;
    const double part =
        loss_and_grad_locked(params, X + i0 * D, m, chunk, {}, nullptr, nullptr, {});
    total += part * weight_sum(chunk.weights, m);  // a chunk of 0 weights: 0 (or NaN)
  }
  const double all_weight = weight_sum(target.weights, n);
  double loss = all_weight > 0 ? total / all_weight : 0.0;
  for (int64_t l = 0; l < n_layers(); ++l) loss += penalty_of(params, l, l + 1, penalty);
  return loss;
}

template <typename T>
double Network<T>::loss_and_grad_locked(const T* params, const T* X, int64_t n,
                                        TargetView<T> target, Penalty<T> penalty, T* dparams,
                                        T* dX, const DropoutSpec& dropout) {
  reserve(n, dropout.active());
  const int64_t L = n_layers();
  const int64_t K = config_.sizes.back();
  const bool backward = dparams != nullptr || dX != nullptr;
  if (!forward_layers(params, X, n, dropout)) return std::numeric_limits<double>::quiet_NaN();
  T* dZ = grad_a_.data();  // d loss / d Z_l, l going down
  T* dZ_below = grad_b_.data();
  const double loss = output_loss_grad<T>(config_.output, Z_.back().data(), n, K, target,
                                          backward ? dZ : nullptr, T(1) / T(n)) /
                          double(n) +
                      penalty_of(params, 0, L, penalty);
  if (!backward) return loss;
  for (int64_t l = L - 1; l >= 0; --l) {
    const DenseLayer<T> dense = layer(params, l);
    const T* H = layer_input(X, l);
    if (dparams != nullptr) {
      const DenseGrad<T> grad{dparams + weight_offset_[l], dparams + bias_offset_[l],
                              l == 0 ? dX : nullptr};
      dense_backward(dense, n, H, dZ, penalty, grad);
    } else if (l == 0) {
      dense_backward_input(dense, n, dZ, dX);
    }
    if (l > 0) {
      dense_backward_to_below(dense, n, dZ, layer_below(l, dropout), dZ_below);
      std::swap(dZ, dZ_below);
    }
  }
  return loss;
}

template class Network<float>;
template class Network<double>;

}  // namespace pyfastnn
