// One training step of Network<T> on a minibatch of n rows, and its reference.
//
//   forward   Z_l, H_l for every layer (dense_forward); with a deferred step
//             pending for layer l, that step first, fused with its product
//             (DeferredUpdate::step_and_forward)
//   loss      mean loss + penalty, dZ_{L-1} = d loss / d Z_{L-1} (losses.hpp)
//   backward  for l = L-1 .. 0: dZ_{l-1} from W_l before its step
//             (dense_backward_to_below), then the step of layer l:
//               n > 1 rows: fused into the weight gradient product
//                           (dense_step_fused: dW never stored)
//               one row:    the bias now, the weights deferred to the next
//                           forward product (DeferredUpdate::defer)
//   clipping  (clip_norm > 0) the factor s = min(1, clip_norm / ||g||) needs
//             the whole gradient g, so the backward pass takes no step:
//               n > 1 rows: it writes g, summing the squares of each block
//                           of dW while it is in cache (dense_grad_squares),
//                           then one update of all parameters with s g
//                           (clipped_update)
//               one row:    it writes the bias gradients and defers the
//                           weights' as without clipping; the norm comes from
//                           the deferred h and dz (||h||^2 ||dz||^2 per layer,
//                           no pass over W without a penalty), the biases step
//                           with s g and the deferred weight steps take s
//
// The reference step takes the same step unfused: loss_and_grad into the
// whole gradient, the clipping factor, then one update of all parameters.
#include <cmath>
#include <limits>
#include <mutex>
#include <utility>

#include "nn/network.hpp"

namespace pyfastnn {

template <typename T>
bool Network<T>::train_forward(const TrainStep& step, const T* X, int64_t n, int64_t from,
                               int64_t to) {
  const T param = static_cast<T>(config_.activation_param);
  for (int64_t l = from; l < to; ++l) {
    const T* H = layer_input(X, l);
    const bool finite =
        step.deferred.pending(l)
            ? step.deferred.step_and_forward(l, layer_params(step.params, step.state, l),
                                         config_.activation, param, H, Z_[l].data(),
                                         layer_output(l))
            : dense_forward(layer(step.params, l), n, H, Z_[l].data(), layer_output(l));
    if (!finite) {
      take_deferred_steps(step.deferred, step.params, step.state);
      return false;
    }
    drop_hidden(l, n, step.dropout);
  }
  return true;
}

template <typename T>
void Network<T>::train_backward(const TrainStep& step, int64_t l, const T* X, int64_t n,
                                const T* dZ, T* dZ_below) {
  if (l > 0)
    dense_backward_to_below(layer(step.params, l), n, dZ, layer_below(l, step.dropout),
                            dZ_below);
  const DenseParams<T> p = layer_params(step.params, step.state, l);
  T* db = step.grad + bias_offset_[l];
  if (step.clip_norm > 0) {  // no step yet: clipped_update takes it
    if (step.defer_weights) {
      column_sums(dZ, n, p.out, db);
      step.deferred.defer(l, step.rule, step.penalty, X, p.in, dZ, p.out);
    } else {
      clip_squares_[size_t(l)] = dense_grad_squares(p, n, X, dZ, step.penalty,
                                                    step.grad + weight_offset_[l], db,
                                                    clip_rows_.data());
    }
  } else if (step.defer_weights) {  // n == 1
    column_sums(dZ, n, p.out, db);
    apply_update<T>(step.rule, p.b, db, p.b_s1, p.b_s2, p.out);
    step.deferred.defer(l, step.rule, step.penalty, X, p.in, dZ, p.out);
  } else {
    dense_step_fused(p, step.rule, n, X, dZ, step.penalty, step.grad + weight_offset_[l], db);
  }
}

template <typename T>
void Network<T>::clipped_update(const TrainStep& step) {
  const int64_t L = n_layers();
  double squares = 0;
  if (step.defer_weights) {
    for (int64_t l = 0; l < L; ++l) {
      const int64_t in = config_.sizes[l], out = config_.sizes[l + 1];
      squares += step.deferred.grad_sum_squares(l, step.params + weight_offset_[l], in, out);
      squares += sum_of_squares(step.grad + bias_offset_[l], out);
    }
  } else {
    for (int64_t l = 0; l < L; ++l) squares += clip_squares_[size_t(l)];
  }
  UpdateRule<T> rule = step.rule;
  rule.scale = clip_factor<T>(std::sqrt(squares), step.clip_norm);
  if (step.defer_weights) {
    step.deferred.set_scale(rule.scale);
    for (int64_t l = 0; l < L; ++l) {
      const DenseParams<T> p = layer_params(step.params, step.state, l);
      apply_update<T>(rule, p.b, step.grad + bias_offset_[l], p.b_s1, p.b_s2, p.out);
    }
  } else {
    const OptimizerState<T>& s = step.state;
    update_all<T>(rule, step.params, step.grad, s.m != nullptr ? s.m : s.velocity, s.v,
                  num_params_);
  }
}

template <typename T>
void Network<T>::take_deferred_steps(DeferredUpdate<T>& deferred, T* params,
                                     const OptimizerState<T>& state) {
  for (int64_t l = 0; l < n_layers(); ++l)
    if (deferred.pending(l)) deferred.step(l, layer_params(params, state, l));
}

template <typename T>
double Network<T>::train_step(const TrainStep& step, const T* X, int64_t n,
                              TargetView<T> target, const TaskRef* beside) {
  reserve(n, step.dropout.active());
  const int64_t L = n_layers();
  if (step.clip_norm > 0 && clip_squares_.empty()) {
    clip_squares_.resize(size_t(L));
    clip_rows_.resize(size_t(max_width_));
  }
  const int64_t K = config_.sizes.back();
  constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
  // Layers [0, head) run on all threads; the tail, layers [head, L) forward,
  // the loss, and their backward passes, runs beside `beside` when head > 0.
  const int64_t head = beside != nullptr && L > 1 ? 1 : 0;
  T* dZ = grad_a_.data();  // d loss / d Z_l, l going down
  T* dZ_below = grad_b_.data();
  double loss = 0, head_penalty = 0;
  bool finite = false;
  // Layers [from, to) backward, top down. The penalty of layer l's weights
  // is taken after its forward pass (which takes its deferred step, if any)
  // and before its backward pass (which may step them).
  const auto backward = [&](int64_t from, int64_t to) {
    for (int64_t l = to - 1; l >= from; --l) {
      train_backward(step, l, layer_input(X, l), n, dZ, dZ_below);
      if (l > 0) std::swap(dZ, dZ_below);
    }
  };
  const auto tail = [&] {
    if (!train_forward(step, X, n, head, L)) return;
    finite = true;
    loss = output_loss_grad<T>(config_.output, Z_.back().data(), n, K, target, dZ,
                               T(1) / T(n)) /
               double(n) +
           penalty_of(step.params, head, L, step.penalty, head_penalty);
    backward(head, L);
  };
  if (!train_forward(step, X, n, 0, head)) {
    (*beside)();  // head > 0: beside is set
    return kNaN;
  }
  head_penalty = penalty_of(step.params, 0, head, step.penalty);
  if (head > 0) {
    run_beside(tail, *beside);
  } else {
    tail();
    if (beside != nullptr) (*beside)();
  }
  if (!finite) return kNaN;
  backward(0, head);
  if (step.clip_norm > 0) clipped_update(step);
  return loss;
}

template <typename T>
double Network<T>::reference_step(T* params, T* grad, const T* X, int64_t n,
                                  TargetView<T> target, T l1, T l2, const DropoutSpec& dropout,
                                  const OptimizerSpec& optimizer, int64_t t,
                                  OptimizerState<T> state, double clip_norm) {
  std::lock_guard<std::mutex> lock(mutex_);
  const double loss =
      loss_and_grad_locked(params, X, n, target, {l1, l2}, grad, nullptr, dropout);
  if (!std::isfinite(loss)) return loss;
  if (clip_norm > 0) {
    double squares = 0;
    for (int64_t i = 0; i < num_params_; ++i) squares += double(grad[i]) * double(grad[i]);
    const T scale = clip_factor<T>(std::sqrt(squares), clip_norm);
    for (int64_t i = 0; i < num_params_; ++i) grad[i] *= scale;
  }
  T* s1 = state.m != nullptr ? state.m : state.velocity;
  apply_update<T>(make_update_rule<T>(optimizer, t), params, grad, s1, state.v, num_params_);
  return loss;
}

#define PYFASTNN_INSTANTIATE_TRAIN_STEP(T)                                                 \
  template double Network<T>::train_step(const TrainStep&, const T*, int64_t, TargetView<T>, \
                                         const TaskRef*);                                    \
  template void Network<T>::take_deferred_steps(DeferredUpdate<T>&, T*,                     \
                                                 const OptimizerState<T>&);                  \
  template double Network<T>::reference_step(T*, T*, const T*, int64_t, TargetView<T>, T, T, \
                                             const DropoutSpec&, const OptimizerSpec&,       \
                                             int64_t, OptimizerState<T>, double);
PYFASTNN_INSTANTIATE_TRAIN_STEP(float)
PYFASTNN_INSTANTIATE_TRAIN_STEP(double)
#undef PYFASTNN_INSTANTIATE_TRAIN_STEP

}  // namespace pyfastnn
