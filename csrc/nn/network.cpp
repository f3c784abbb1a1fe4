#include "nn/network.hpp"

#include <algorithm>
#include <limits>
#include <stdexcept>
#include <utility>

#include "nn/layers.hpp"
#include "runtime/random.hpp"
#include "runtime/threads.hpp"

namespace pyfastnn {

template <typename T>
Network<T>::Network(NetConfig config) : config_(std::move(config)) {
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
  pending_H_.resize(L);
  pending_dZ_.resize(L);
}

template <typename T>
DeferredStep<T> Network<T>::pending_step(int64_t l) const {
  return DeferredStep<T>{pending_.rule, pending_.l1, pending_.l2, pending_H_[l].data(),
                         pending_dZ_[l].data()};
}

template <typename T>
void Network<T>::take_pending_steps(int64_t from) {
  if (!pending_.active) return;
  const OptimizerState<T>& st = pending_.state;
  T* s1 = first_moment(st);
  for (int64_t l = from; l < n_layers(); ++l) {
    const int64_t w = weight_offset_[l];
    const DenseShape s{0, config_.sizes[l], config_.sizes[l + 1]};
    dense_update_forward<T>(s, nullptr, pending_step(l), pending_.params + w, state_at(s1, w),
                            state_at(st.v, w), nullptr, nullptr, config_.activation, T(0),
                            nullptr);
  }
  pending_.active = false;
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
bool Network<T>::forward_hidden_and_logits(const T* params, const T* X, int64_t n,
                                           const DropoutSpec& dropout, int64_t from,
                                           int64_t to) {
  const int64_t L = n_layers();
  if (to < 0) to = L;
  const T param = static_cast<T>(config_.activation_param);
  const T* H = from == 0 ? X : H_[from - 1].data();
  const OptimizerState<T>& st = pending_.state;
  T* s1 = first_moment(st);
  for (int64_t l = from; l < to; ++l) {
    const DenseShape s{n, config_.sizes[l], config_.sizes[l + 1]};
    const bool hidden = l + 1 < L;
    T* A = hidden ? H_[l].data() : nullptr;
    bool finite;
    if (pending_.active) {
      const int64_t w = weight_offset_[l];
      finite = dense_update_forward<T>(s, H, pending_step(l), pending_.params + w,
                                       state_at(s1, w), state_at(st.v, w), bias(params, l),
                                       Z_[l].data(), config_.activation, param, A);
    } else {
      finite = dense_forward<T>(s, H, weight(params, l), bias(params, l), Z_[l].data(),
                                config_.activation, param, A);
    }
    if (!finite) {
      take_pending_steps(l + 1);
      return false;
    }
    if (!hidden) break;
    if (dropout.active()) {
      const uint64_t key = stream_key(dropout.seed, dropout.epoch, dropout.step, uint64_t(l));
      dropout_forward<T>(H_[l].data(), M_[l].data(), n, s.out, dropout.rate, key);
    }
    H = H_[l].data();
  }
  if (to == L) pending_.active = false;
  return true;
}

template <typename T>
bool Network<T>::forward(const T* params, const T* X, int64_t n, T* out) {
  std::lock_guard<std::mutex> lock(mutex_);
  const int64_t D = config_.sizes.front(), K = config_.sizes.back();
  reserve(std::min(n, kEvalChunkRows));
  for (int64_t i0 = 0; i0 < n; i0 += kEvalChunkRows) {
    const int64_t m = std::min(kEvalChunkRows, n - i0);
    if (!forward_hidden_and_logits(params, X + i0 * D, m)) return false;
    output_forward<T>(config_.output, Z_.back().data(), m, K, out + i0 * K);
  }
  return true;
}

template <typename T>
double Network<T>::loss_and_grad(const T* params, const T* X, int64_t n, TargetView<T> target,
                                 T l1, T l2, T* dparams, T* dX, const DropoutSpec& dropout) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (dparams != nullptr || dX != nullptr || dropout.active())
    return loss_and_grad_locked(params, X, n, target, l1, l2, dparams, dX, dropout);
  // Loss only: in chunks, so a large X does not grow the workspaces.
  const int64_t D = config_.sizes.front(), K = config_.sizes.back();
  double total = 0;
  for (int64_t i0 = 0; i0 < n; i0 += kEvalChunkRows) {
    const int64_t m = std::min(kEvalChunkRows, n - i0);
    TargetView<T> chunk;
    if (target.labels != nullptr) chunk.labels = target.labels + i0;
    if (target.values != nullptr) chunk.values = target.values + i0 * K;
    const double part =
        loss_and_grad_locked(params, X + i0 * D, m, chunk, T(0), T(0), nullptr, nullptr, {});
    total += part * double(m);  // the chunk's mean loss, back to a sum
  }
  double loss = total / double(n);
  for (int64_t l = 0; l < n_layers(); ++l)
    loss += weight_penalty<T>(weight(params, l), config_.sizes[l] * config_.sizes[l + 1], l1, l2);
  return loss;
}

template <typename T>
void Network<T>::backward_layer(int64_t l, const T* params, const T* H, int64_t n, const T* dZ,
                                T* dZ_prev, T l1, T l2, T* dparams, T* dX,
                                const DropoutSpec& dropout, const StepUpdate* update) {
  const DenseShape s{n, config_.sizes[l], config_.sizes[l + 1]};
  const T param = static_cast<T>(config_.activation_param);
  T* dW = dparams != nullptr ? dparams + weight_offset_[l] : nullptr;
  T* db = dparams != nullptr ? dparams + bias_offset_[l] : nullptr;
  // d loss / d Z_{l-1} needs the previous layer's pre-activations and mask;
  // for the relu family its (masked) activations H_{l-1} will do, which this
  // layer's products read anyway, while Z_{l-1} would be read only here (and
  // partly from another core's cache after a product split among threads).
  T* dH = l > 0 ? dZ_prev : dX;
  const T* Z_prev = nullptr;
  if (l > 0)
    Z_prev = derivative_from_activations(config_.activation, param) ? H_[l - 1].data()
                                                                    : Z_[l - 1].data();
  const T* mask = l > 0 && dropout.active() ? M_[l - 1].data() : nullptr;
  if (update != nullptr && update->deferred) {
    // dH from W before the step; the bias steps now, the weights in the
    // next forward pass (pending_).
    const int64_t b = bias_offset_[l];
    dense_backward<T>(s, H, weight(params, l), dZ, l1, l2, nullptr, db, dH, Z_prev,
                      config_.activation, param, mask, nullptr);
    T* s1 = first_moment(update->state);
    apply_update<T>(update->rule, update->params + b, db, state_at(s1, b),
                    state_at(update->state.v, b), s.out);
    pending_H_[l].assign(H, H + n * s.in);
    pending_dZ_[l].assign(dZ, dZ + n * s.out);
    return;
  }
  FusedUpdate<T> layer_update{};
  const FusedUpdate<T>* fused = nullptr;
  if (update != nullptr) {
    const int64_t w = weight_offset_[l], b = bias_offset_[l];
    T* s1 = first_moment(update->state);
    T* s2 = update->state.v;
    layer_update = FusedUpdate<T>{update->rule,    update->params + w, update->params + b,
                                  state_at(s1, w), state_at(s1, b),    state_at(s2, w),
                                  state_at(s2, b)};
    fused = &layer_update;
  }
  dense_backward<T>(s, H, weight(params, l), dZ, l1, l2, dW, db, dH, Z_prev, config_.activation,
                    param, mask, fused);
}

template <typename T>
double Network<T>::loss_and_grad_locked(const T* params, const T* X, int64_t n,
                                        TargetView<T> target, T l1, T l2, T* dparams, T* dX,
                                        const DropoutSpec& dropout, const StepUpdate* update,
                                        const TaskRef* beside) {
  reserve(n, dropout.active());
  const int64_t L = n_layers();
  const int64_t K = config_.sizes.back();
  const bool backward = dparams != nullptr || dX != nullptr;
  constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
  // The penalty of layer l's weights after its forward pass (which takes the
  // pending step, if any) and before its backward pass (which may step them).
  const auto penalty = [&](int64_t l) {
    return weight_penalty<T>(weight(params, l), config_.sizes[l] * config_.sizes[l + 1], l1, l2);
  };
  // Layers [0, head) run on all threads; the tail, layers [head, L) forward,
  // the loss, and their backward passes, runs beside `beside` when head > 0.
  const int64_t head = beside != nullptr && backward && L > 1 ? 1 : 0;
  T* dZ = grad_a_.data();  // d loss / d Z_l, l going down
  T* dZ_next = grad_b_.data();
  double loss = 0, head_penalty = 0;
  bool finite = false;
  const auto layer_input = [&](int64_t l) { return l == 0 ? X : H_[l - 1].data(); };
  const auto tail = [&] {
    if (!forward_hidden_and_logits(params, X, n, dropout, head)) return;
    finite = true;
    double total_penalty = head_penalty;
    for (int64_t l = head; l < L; ++l) total_penalty += penalty(l);
    loss = output_loss_grad<T>(config_.output, Z_.back().data(), n, K, target,
                               backward ? dZ : nullptr, T(1) / T(n)) /
               double(n) +
           total_penalty;
    if (!backward) return;
    for (int64_t l = L - 1; l >= head; --l) {
      backward_layer(l, params, layer_input(l), n, dZ, dZ_next, l1, l2, dparams, dX, dropout,
                     update);
      if (l > 0) std::swap(dZ, dZ_next);
    }
  };
  if (!forward_hidden_and_logits(params, X, n, dropout, 0, head)) {
    (*beside)();  // head > 0: beside is set
    return kNaN;
  }
  for (int64_t l = 0; l < head; ++l) head_penalty += penalty(l);
  if (head > 0) {
    run_beside(tail, *beside);
  } else {
    tail();
    if (beside != nullptr) (*beside)();
  }
  if (!finite) return kNaN;
  for (int64_t l = head - 1; l >= 0; --l) {
    backward_layer(l, params, layer_input(l), n, dZ, dZ_next, l1, l2, dparams, dX, dropout,
                   update);
    if (l > 0) std::swap(dZ, dZ_next);
  }
  if (update != nullptr && update->deferred)
    pending_ = PendingSteps{true, update->rule, l1, l2, update->params, update->state};
  return loss;
}

template class Network<float>;
template class Network<double>;

}  // namespace pyfastnn
