#include "nn/losses.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "nn/activations.hpp"
#include "runtime/ordered_sum.hpp"
#include "runtime/parallel.hpp"
#include "simd/exp_kernels.hpp"
#include "simplex/simplex.hpp"

namespace pyfastnn {

namespace {

// Below this many logits the loss runs on one thread (parallel start-up costs more).
constexpr int64_t kParallelMinElements = 1 << 15;
// Rows per partial sum of a loss (ordered_sum.hpp: the same total on any
// number of threads).
constexpr int64_t kLossChunkRows = 256;

template <typename T>
inline T target_at(const TargetView<T>& t, int64_t i, int64_t k, int64_t K) {
  if (t.values != nullptr) return t.values[i * K + k];
  return t.labels[i] == k ? T(1) : T(0);
}

// The softmax exp family: simd/exp_kernels.hpp.
template <typename T>
ExpMinusMax<T> active_exp() {
  return active_exp_minus_max<T>();
}

// One row of softmax: p (K) = softmax(z); returns log of the normaliser,
// logsumexp(z). `exp_minus_max`: active_exp<T>().
template <typename T>
inline T softmax_row(const T* z, int64_t K, T* p, ExpMinusMax<T> exp_minus_max) {
  T m;
  const T s = exp_minus_max(z, K, p, &m);
  const T inv = T(1) / s;
  for (int64_t k = 0; k < K; ++k) p[k] *= inv;
  return m + std::log(s);
}

// Per-sample loss of row i times its weight w (1 without weights); writes the
// row of dZ (times `scale` * w) when dz != nullptr. `p` is a K-element scratch row.
template <typename T>
double row_loss_grad(Output output, const T* z, int64_t i, int64_t K, const TargetView<T>& t,
                     T* dz, T row_scale, T w, T* p, ExpMinusMax<T> exp_minus_max) {
  const T scale = row_scale * w;  // exact when w == 1
  double loss = 0;
  switch (output) {
    case Output::softmax: {
      const T lse = softmax_row(z, K, p, exp_minus_max);
      if (t.labels != nullptr) {
        loss = double(lse - z[t.labels[i]]);
      } else {
        for (int64_t k = 0; k < K; ++k) {
          const T tk = t.values[i * K + k];
          if (tk != T(0)) loss += double(tk) * double(lse - z[k]);
        }
      }
      if (dz != nullptr)
        for (int64_t k = 0; k < K; ++k) dz[k] = scale * (p[k] - target_at(t, i, k, K));
      break;
    }
    case Output::sigmoid: {
      const T invK = T(1) / T(K);
      for (int64_t k = 0; k < K; ++k) {
        const T tk = target_at(t, i, k, K);
        loss += double(softplus(z[k]) - z[k] * tk);
        if (dz != nullptr) dz[k] = scale * (sigmoid(z[k]) - tk) * invK;
      }
      loss /= double(K);
      break;
    }
    default: {  // identity + squared error
      for (int64_t k = 0; k < K; ++k) {
        const T r = z[k] - target_at(t, i, k, K);
        loss += double(r) * double(r);
        if (dz != nullptr) dz[k] = scale * T(2) * r;
      }
      break;
    }
  }
  return loss * double(w);
}

// The weight w'_i = w_i * factor of row i (losses.hpp), 1 without weights.
template <typename T>
inline T row_weight(const T* weights, double factor, int64_t i) {
  return weights != nullptr ? T(double(weights[i]) * factor) : T(1);
}

// factor = n / sum(w) of the renormalised weights (0 when they sum to 0).
template <typename T>
double weight_factor(const T* weights, int64_t n) {
  if (weights == nullptr) return 1.0;
  const double W = weight_sum(weights, n);
  return W > 0 ? double(n) / W : 0.0;
}

// Rows of loss values for the weighted sparse losses: one per thread, grown
// to the largest batch seen (no allocation per training step).
template <typename T>
T* loss_rows_scratch(int64_t n) {
  thread_local std::vector<T> rows;
  if (int64_t(rows.size()) < n) rows.resize(static_cast<size_t>(n));
  return rows.data();
}

// After a loss kernel wrote loss_rows (n) and dZ (n, K) (or nullptr) unweighted:
// dZ row i *= w'_i; returns sum_i w'_i loss_rows[i], rows in order.
template <typename T>
double apply_row_weights(const T* weights, double factor, const T* loss_rows, int64_t n,
                         int64_t K, T* dZ) {
  double total = 0;
  for (int64_t i = 0; i < n; ++i) {
    const T w = row_weight(weights, factor, i);
    total += double(w) * double(loss_rows[i]);
    if (dZ == nullptr) continue;
    T* dz = dZ + i * K;
    for (int64_t k = 0; k < K; ++k) dz[k] *= w;
  }
  return total;
}

}  // namespace

template <typename T>
double weight_sum(const T* w, int64_t n) {
  if (w == nullptr) return double(n);
  double total = 0;
  for (int64_t i = 0; i < n; ++i) total += double(w[i]);
  return total;
}

bool needs_labels(const OutputSpec& spec) {
  return spec.output == Output::softmax || spec.output == Output::sparsemax ||
         spec.output == Output::relumax || spec.output == Output::entmax15 ||
         spec.output == Output::entmax || spec.loss == Loss::perceptron;
}

bool output_loss_valid(const OutputSpec& spec) {
  const bool sparse = spec.output == Output::sparsemax || spec.output == Output::relumax;
  if (spec.output == Output::identity && spec.loss == Loss::perceptron) return true;
  if (spec.output == Output::entmax && !(spec.alpha > 1 && std::isfinite(spec.alpha)))
    return false;
  if (!sparse) return spec.loss == Loss::natural;
  if (spec.output == Output::relumax && !(spec.relumax_b > 0)) return false;
  if (spec.loss == Loss::eps_cross_entropy && !(spec.eps > 0)) return false;
  return spec.loss == Loss::sparsemax || spec.loss == Loss::eps_cross_entropy;
}

template <typename T>
void output_forward(const OutputSpec& spec, const T* Z, int64_t n, int64_t K, T* out) {
  if (spec.output == Output::sparsemax) return sparsemax_forward<T>(Z, n, K, out);
  if (spec.output == Output::relumax)
    return relumax_forward<T>(Z, n, K, static_cast<T>(spec.relumax_b), out);
  if (spec.output == Output::entmax15) return entmax15_forward<T>(Z, n, K, out);
  if (spec.output == Output::entmax)
    return entmax_bisect_forward<T>(Z, n, K, static_cast<T>(spec.alpha), out);
  const Output output = spec.output;
  const ExpMinusMax<T> exp_minus_max = active_exp<T>();
  const int threads = n * K >= kParallelMinElements ? num_threads() : 1;
  parallel_ranges(n, 1, threads, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      const T* z = Z + i * K;
      T* o = out + i * K;
      switch (output) {
        case Output::softmax:
          softmax_row(z, K, o, exp_minus_max);
          break;
        case Output::sigmoid:
          for (int64_t k = 0; k < K; ++k) o[k] = sigmoid(z[k]);
          break;
        default:  // identity (the sparse maps returned above)
          for (int64_t k = 0; k < K; ++k) o[k] = z[k];
          break;
      }
    }
  });
}

// Multiclass perceptron on scores Z (n, K) with labels y; see losses.hpp.
// Row i counts with weight w'_i = weights[i] * factor (1 without weights).
template <typename T>
double perceptron_loss_grad(const T* Z, const int64_t* y, int64_t n, int64_t K, T* dZ, T scale,
                            const T* weights, double factor) {
  double total = 0;
  for (int64_t i = 0; i < n; ++i) {
    const T* z = Z + i * K;
    const T w = row_weight(weights, factor, i);
    int64_t p = 0;
    for (int64_t k = 1; k < K; ++k)
      if (z[k] > z[p]) p = k;
    total += (double(z[p]) - double(z[y[i]])) * double(w);
    if (dZ == nullptr) continue;
    T* dz = dZ + i * K;
    for (int64_t k = 0; k < K; ++k) dz[k] = T(0);
    if (p != y[i]) {
      dz[p] = scale * w;
      dz[y[i]] = -scale * w;
    }
  }
  return total;
}

// The losses of the simplex kernels (sparse maps, entmax) on labels: sum of
// loss_rows; with weights, through loss_rows and apply_row_weights.
template <typename T, typename Kernel>
double simplex_loss(const TargetView<T>& target, double factor, int64_t n, int64_t K, T* dZ,
                    const Kernel& kernel) {
  if (target.weights == nullptr) return kernel(static_cast<T*>(nullptr));
  T* rows = loss_rows_scratch<T>(n);
  kernel(rows);
  return apply_row_weights(target.weights, factor, rows, n, K, dZ);
}

template <typename T>
double output_loss_grad(const OutputSpec& spec, const T* Z, int64_t n, int64_t K,
                        TargetView<T> target, T* dZ, T scale) {
  const double factor = weight_factor(target.weights, n);
  const int64_t* y = target.labels;
  if (spec.loss == Loss::perceptron)
    return perceptron_loss_grad<T>(Z, y, n, K, dZ, scale, target.weights, factor);
  if (spec.loss == Loss::sparsemax)  // on the logits, whatever the sparse map
    return simplex_loss(target, factor, n, K, dZ, [&](T* rows) {
      return sparsemax_loss<T>(Z, y, n, K, rows, dZ, scale);
    });
  if (spec.loss == Loss::eps_cross_entropy) {
    const SparseMap map = spec.output == Output::relumax ? SparseMap::relumax : SparseMap::sparsemax;
    return simplex_loss(target, factor, n, K, dZ, [&](T* rows) {
      return smoothed_cross_entropy<T>(map, Z, y, n, K, static_cast<T>(spec.relumax_b),
                                       static_cast<T>(spec.eps), rows, dZ, scale);
    });
  }
  if (spec.output == Output::entmax15)
    return simplex_loss(target, factor, n, K, dZ, [&](T* rows) {
      return entmax15_loss<T>(Z, y, n, K, rows, dZ, scale);
    });
  if (spec.output == Output::entmax)
    return simplex_loss(target, factor, n, K, dZ, [&](T* rows) {
      return entmax_bisect_loss<T>(Z, y, n, K, static_cast<T>(spec.alpha), rows, dZ, scale);
    });
  const Output output = spec.output;
  const ExpMinusMax<T> exp_minus_max = active_exp<T>();
  const int threads = n * K >= kParallelMinElements ? num_threads() : 1;
  // Scratch rows for softmax probabilities when dZ is not wanted: one per
  // chunk, on the stack for small K (the common case).
  constexpr int64_t kStackRow = 256;
  std::vector<T> heap_rows;
  if (K > kStackRow && dZ == nullptr)
    heap_rows.resize(static_cast<size_t>((n + kLossChunkRows - 1) / kLossChunkRows * K));
  return ordered_chunk_sum(n, kLossChunkRows, threads, [&](int64_t i0, int64_t i1) {
    T stack_row[kStackRow];
    T* scratch = heap_rows.empty() ? stack_row : heap_rows.data() + i0 / kLossChunkRows * K;
    double total = 0;
    for (int64_t i = i0; i < i1; ++i) {
      T* dz = dZ != nullptr ? dZ + i * K : nullptr;
      T* p = dz != nullptr ? dz : scratch;  // softmax writes p into the dZ row, then shifts it
      total += row_loss_grad(output, Z + i * K, i, K, target, dz, scale,
                             row_weight(target.weights, factor, i), p, exp_minus_max);
    }
    return total;
  });
}

template double weight_sum<float>(const float*, int64_t);
template double weight_sum<double>(const double*, int64_t);
template void output_forward<float>(const OutputSpec&, const float*, int64_t, int64_t, float*);
template void output_forward<double>(const OutputSpec&, const double*, int64_t, int64_t,
                                     double*);
template double output_loss_grad<float>(const OutputSpec&, const float*, int64_t, int64_t,
                                        TargetView<float>, float*, float);
template double output_loss_grad<double>(const OutputSpec&, const double*, int64_t, int64_t,
                                         TargetView<double>, double*, double);

}  // namespace pyfastnn
