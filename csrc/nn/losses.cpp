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

// Per-sample loss of row i; writes the row of dZ (times `scale`) when dz != nullptr.
// `p` is a K-element scratch row.
template <typename T>
double row_loss_grad(Output output, const T* z, int64_t i, int64_t K, const TargetView<T>& t,
                     T* dz, T scale, T* p, ExpMinusMax<T> exp_minus_max) {
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
  return loss;
}

}  // namespace

bool needs_labels(const OutputSpec& spec) {
  return spec.output == Output::softmax || spec.output == Output::sparsemax ||
         spec.output == Output::relumax || spec.loss == Loss::perceptron;
}

bool output_loss_valid(const OutputSpec& spec) {
  const bool sparse = spec.output == Output::sparsemax || spec.output == Output::relumax;
  if (spec.output == Output::identity && spec.loss == Loss::perceptron) return true;
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
template <typename T>
double perceptron_loss_grad(const T* Z, const int64_t* y, int64_t n, int64_t K, T* dZ, T scale) {
  double total = 0;
  for (int64_t i = 0; i < n; ++i) {
    const T* z = Z + i * K;
    int64_t p = 0;
    for (int64_t k = 1; k < K; ++k)
      if (z[k] > z[p]) p = k;
    total += double(z[p]) - double(z[y[i]]);
    if (dZ == nullptr) continue;
    T* dz = dZ + i * K;
    for (int64_t k = 0; k < K; ++k) dz[k] = T(0);
    if (p != y[i]) {
      dz[p] = scale;
      dz[y[i]] = -scale;
    }
  }
  return total;
}

template <typename T>
double output_loss_grad(const OutputSpec& spec, const T* Z, int64_t n, int64_t K,
                        TargetView<T> target, T* dZ, T scale) {
  if (spec.loss == Loss::perceptron)
    return perceptron_loss_grad<T>(Z, target.labels, n, K, dZ, scale);
  if (spec.loss == Loss::sparsemax)  // on the logits, whatever the sparse map
    return sparsemax_loss<T>(Z, target.labels, n, K, nullptr, dZ, scale);
  if (spec.loss == Loss::eps_cross_entropy) {
    const SparseMap map = spec.output == Output::relumax ? SparseMap::relumax : SparseMap::sparsemax;
    return smoothed_cross_entropy<T>(map, Z, target.labels, n, K, static_cast<T>(spec.relumax_b),
                                     static_cast<T>(spec.eps), nullptr, dZ, scale);
  }
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
      total += row_loss_grad(output, Z + i * K, i, K, target, dz, scale, p, exp_minus_max);
    }
    return total;
  });
}

template void output_forward<float>(const OutputSpec&, const float*, int64_t, int64_t, float*);
template void output_forward<double>(const OutputSpec&, const double*, int64_t, int64_t,
                                     double*);
template double output_loss_grad<float>(const OutputSpec&, const float*, int64_t, int64_t,
                                        TargetView<float>, float*, float);
template double output_loss_grad<double>(const OutputSpec&, const double*, int64_t, int64_t,
                                         TargetView<double>, double*, double);

}  // namespace pyfastnn
