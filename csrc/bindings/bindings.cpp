// Python bindings: argument conversion and checks, dtype dispatch, GIL release.
// No numerical work happens here.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cmath>
#include <cstdint>
#include <optional>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

#include "bindings/array_checks.hpp"
#include "bindings/released_gil.hpp"
#include "gemm/gemm.hpp"
#include "nn/network.hpp"
#include "runtime/cpu.hpp"
#include "runtime/finite_check.hpp"
#include "runtime/kernel_registry.hpp"

namespace py = pybind11;
using namespace pyfastnn;
using namespace pyfastnn::bindings;

void bind_simplex(pybind11::module_& m);  // bindings_simplex.cpp
void bind_runtime(pybind11::module_& m);  // bindings_runtime.cpp

namespace {

// EpochInterrupt::requested for a native epoch: takes the GIL for a moment and
// runs Python's pending signal handlers (only the main thread runs them). A
// handler that raises (Ctrl-C: KeyboardInterrupt) leaves its exception set,
// which the binding raises once the epoch has returned.
bool python_signal_pending(void*) {
  if (python_finalizing()) return false;
  const py::gil_scoped_acquire gil;
  return PyErr_CheckSignals() != 0;
}

// ---- argument checks -------------------------------------------------------

// A C-contiguous 2-D array of dtype T; `name` goes into the error message.
template <typename T>
void require_matrix(const py::array& a, const char* name, bool writable = false) {
  if (!has_dtype<T>(a)) dtype_error(name, a, std::string(py::str(py::dtype::of<T>())));
  if (a.ndim() != 2)
    throw py::value_error(std::string(name) + ": expected a 2-D array, got ndim=" +
                          std::to_string(a.ndim()));
  require_layout(a, name, writable);
}

template <typename T>
void require_shape(const py::array& a, const char* name, int64_t rows, int64_t cols,
                   bool writable = false) {
  require_matrix<T>(a, name, writable);
  if (a.shape(0) != rows || a.shape(1) != cols)
    throw py::value_error(std::string(name) + ": expected shape (" + std::to_string(rows) + ", " +
                          std::to_string(cols) + "), got (" + std::to_string(a.shape(0)) + ", " +
                          std::to_string(a.shape(1)) + ")");
}

// ---- dense network ---------------------------------------------------------

// Parameter count must fit comfortably in int64 (and in memory).
constexpr int64_t kMaxParams = int64_t(1) << 48;

template <typename T>
int64_t batch_rows(const Network<T>& net, const py::array& X) {
  require_matrix<T>(X, "X");
  const int64_t D = net.config().sizes.front();
  if (X.shape(1) != D)
    throw py::value_error("X: expected " + std::to_string(D) + " columns, got " +
                          std::to_string(X.shape(1)));
  if (X.shape(0) < 1) throw py::value_error("X: expected at least one row");
  return X.shape(0);
}

// y is integer labels (n,) int64 in [0, K), or real targets (n, K) of dtype T;
// weights, if given, are sample weights (n,) of dtype T, each finite and >= 0.
template <typename T>
TargetView<T> target_view(const Network<T>& net, const py::array& y, int64_t n,
                          const std::optional<py::array>& weights = std::nullopt) {
  const int64_t K = net.config().sizes.back();
  TargetView<T> view;
  if (weights) {
    require_vector<T>(*weights, "sample_weight", n);
    const T* w = static_cast<const T*>(weights->data());
    for (int64_t i = 0; i < n; ++i)
      if (!(w[i] >= T(0)) || !std::isfinite(w[i]))
        throw py::value_error("sample_weight: expected finite values >= 0");
    view.weights = w;
  }
  if (has_dtype<int64_t>(y)) {
    view.labels = checked_labels(y, n, K);
  } else {
    if (needs_labels(net.config().output))
      throw py::type_error("y: expected int64 class labels for this output");
    require_shape<T>(y, "y", n, K);
    view.values = static_cast<const T*>(y.data());
  }
  return view;
}

// Dropout rate in [0, 1); a rate > 0 needs a hidden layer to act on.
template <typename T>
DropoutSpec dropout_spec(const Network<T>& net, double rate, uint64_t seed, uint64_t epoch,
                         uint64_t step) {
  if (!(rate >= 0 && rate < 1)) throw py::value_error("dropout: expected a rate in [0, 1)");
  if (rate > 0 && net.n_layers() < 2)
    throw py::value_error("dropout: the network has no hidden layer to drop units from");
  return DropoutSpec{rate, seed, epoch, step};
}

// Gradient clipping's threshold: None (off, 0) or a finite number > 0.
double checked_clip_norm(const std::optional<double>& clip_norm) {
  if (!clip_norm) return 0;
  if (!(*clip_norm > 0) || !std::isfinite(*clip_norm))
    throw py::value_error("clip_norm: expected None or a finite number > 0");
  return *clip_norm;
}

// The optimiser's arrays from `state` by name (velocity for SGD with momentum;
// m and v for Adam and AdamW; square_avg, and velocity with momentum, for
// RMSprop), each (P,) writable, none overlapping params, grad or another.
// params and grad are already checked.
template <typename T>
OptimizerState<T> optimizer_state(const py::array& params, const py::array& grad,
                                  const OptimizerSpec& optimizer, const py::dict& state) {
  const int64_t P = params.size();
  std::vector<py::array> buffers{params, grad};
  auto take = [&](const char* name) {
    if (!state.contains(name) || state[name].is_none())
      throw py::value_error(std::string(name) + ": required by this optimizer");
    const py::object entry = state[name];
    if (!py::isinstance<py::array>(entry))
      throw py::type_error(std::string(name) + ": expected a numpy array");
    py::array a = py::reinterpret_borrow<py::array>(entry);
    require_vector<T>(a, name, P, /*writable=*/true);
    buffers.push_back(a);
    return static_cast<T*>(a.mutable_data());
  };
  OptimizerState<T> s;
  if (optimizer.kind == OptimizerSpec::Kind::adam || optimizer.kind == OptimizerSpec::Kind::adamw) {
    s.m = take("m");
    s.v = take("v");
  } else if (optimizer.kind == OptimizerSpec::Kind::rmsprop) {
    s.v = take("square_avg");
    if (optimizer.momentum > 0) s.velocity = take("velocity");
  } else if (optimizer.momentum > 0) {
    s.velocity = take("velocity");
  }
  for (size_t a = 0; a < buffers.size(); ++a)
    for (size_t b = a + 1; b < buffers.size(); ++b)
      if (overlaps(buffers[a], buffers[b]))
        throw py::value_error("params, grad, optimizer state: arrays must not overlap");
  return s;
}

template <typename T>
void bind_network(py::module_& m, const char* name) {
  py::class_<Network<T>>(m, name)
      .def(py::init([](std::vector<int64_t> sizes, int activation, double activation_param,
                       int output, int loss, double relumax_b, double eps, double alpha) {
             if (activation < 0 || activation >= kNumActivations)
               throw py::value_error("activation: unknown code " + std::to_string(activation));
             if (output < 0 || output >= kNumOutputs)
               throw py::value_error("output: unknown code " + std::to_string(output));
             if (loss < 0 || loss >= kNumLosses)
               throw py::value_error("loss: unknown code " + std::to_string(loss));
             const OutputSpec spec{static_cast<Output>(output), static_cast<Loss>(loss),
                                   relumax_b, eps, alpha};
             if (!output_loss_valid(spec))
               throw py::value_error("loss: unsupported output/loss pair or parameter");
             if (sizes.size() < 2) throw py::value_error("sizes: need at least 2 entries");
             for (int64_t s : sizes)
               if (s < 1) throw py::value_error("sizes: every size must be >= 1");
             int64_t total = 0;
             for (size_t l = 0; l + 1 < sizes.size(); ++l) {
               if (sizes[l] > kMaxParams / sizes[l + 1] ||
                   total > kMaxParams - sizes[l] * sizes[l + 1] - sizes[l + 1])
                 throw py::value_error("sizes: the network would have more than 2^48 parameters");
               total += sizes[l] * sizes[l + 1] + sizes[l + 1];
             }
             return new Network<T>(NetConfig{std::move(sizes), static_cast<Activation>(activation),
                                             activation_param, spec});
           }),
           py::arg("sizes"), py::arg("activation"), py::arg("activation_param"),
           py::arg("output"), py::arg("loss") = 0, py::arg("relumax_b") = 1.0,
           py::arg("eps") = 1e-3, py::arg("alpha") = 1.5)
      .def_property_readonly("num_params", &Network<T>::num_params)
      .def(
          "forward",
          [](Network<T>& net, const py::array& params, const py::array& X, py::array& out) {
            require_vector<T>(params, "params", net.num_params());
            const int64_t n = batch_rows(net, X);
            require_shape<T>(out, "out", n, net.config().sizes.back(), /*writable=*/true);
            const T* p = static_cast<const T*>(params.data());
            const T* x = static_cast<const T*>(X.data());
            T* o = static_cast<T*>(out.mutable_data());
            ReleasedGil nogil;
            return net.forward(p, x, n, o);
          },
          py::arg("params"), py::arg("X"), py::arg("out"),
          "out (n, K) = outputs of the network at X (n, D). Returns False (out undefined) "
          "when a pre-activation was NaN or infinite.")
      .def(
          "loss_and_grad",
          [](Network<T>& net, const py::array& params, const py::array& X, const py::array& y,
             double l1, double l2, std::optional<py::array> dparams, std::optional<py::array> dX,
             double dropout, uint64_t seed, uint64_t epoch, uint64_t step,
             std::optional<py::array> sample_weight) {
            require_vector<T>(params, "params", net.num_params());
            const int64_t n = batch_rows(net, X);
            const TargetView<T> target = target_view(net, y, n, sample_weight);
            if (!(l1 >= 0) || !(l2 >= 0)) throw py::value_error("l1, l2: expected values >= 0");
            const DropoutSpec drop = dropout_spec(net, dropout, seed, epoch, step);
            T* dp = nullptr;
            T* dx = nullptr;
            // the outputs are written while params, X and y are still read
            const auto require_apart = [&](const py::array& out, const char* out_name) {
              for (const py::array* in : {&params, &X, &y})
                if (overlaps(out, *in))
                  throw py::value_error(std::string(out_name) +
                                        ": must not overlap params, X or y");
              if (sample_weight && overlaps(out, *sample_weight))
                throw py::value_error(std::string(out_name) +
                                      ": must not overlap sample_weight");
            };
            if (dparams) {
              require_vector<T>(*dparams, "dparams", net.num_params(), /*writable=*/true);
              require_apart(*dparams, "dparams");
              dp = static_cast<T*>(dparams->mutable_data());
            }
            if (dX) {
              require_shape<T>(*dX, "dX", n, net.config().sizes.front(), /*writable=*/true);
              require_apart(*dX, "dX");
              if (dparams && overlaps(*dX, *dparams))
                throw py::value_error("dX: must not overlap dparams");
              dx = static_cast<T*>(dX->mutable_data());
            }
            const T* p = static_cast<const T*>(params.data());
            const T* x = static_cast<const T*>(X.data());
            ReleasedGil nogil;
            return net.loss_and_grad(p, x, n, target, T(l1), T(l2), dp, dx, drop);
          },
          py::arg("params"), py::arg("X"), py::arg("y"), py::arg("l1"), py::arg("l2"),
          py::arg("dparams"), py::arg("dX"), py::arg("dropout") = 0.0, py::arg("seed") = 0,
          py::arg("epoch") = 0, py::arg("step") = 0, py::arg("sample_weight") = py::none(),
          "Mean loss (weighted by sample_weight (n,) when given) + penalty; fills dparams "
          "(flat) and dX (n, D) when given. With "
          "dropout > 0, hidden activations are masked with the stream (seed, epoch, step). "
          "Returns NaN (gradients undefined) when a pre-activation was NaN or infinite.")
      .def(
          "train_epoch",
          [](Network<T>& net, py::array& params, py::array& grad, const py::array& X,
             const py::array& y, std::optional<py::array> order, const EpochSpec& epoch,
             const OptimizerSpec& optimizer, const py::dict& state,
             std::optional<py::array> sample_weight) {
            const int64_t P = net.num_params();
            require_vector<T>(params, "params", P, /*writable=*/true);
            require_vector<T>(grad, "grad", P, /*writable=*/true);
            const int64_t n = batch_rows(net, X);
            const TargetView<T> target = target_view(net, y, n, sample_weight);
            const int64_t* idx = nullptr;
            if (order) {
              require_vector<int64_t>(*order, "order", n);
              idx = static_cast<const int64_t*>(order->data());
              for (int64_t i = 0; i < n; ++i)
                if (idx[i] < 0 || idx[i] >= n)
                  throw py::value_error("order: row indices must lie in [0, " +
                                        std::to_string(n) + ")");
            }
            if (epoch.dropout.active() && net.n_layers() < 2)
              throw py::value_error("dropout: the network has no hidden layer to drop units from");
            OptimizerState<T> s = optimizer_state<T>(params, grad, optimizer, state);
            for (const py::array* in : {&X, &y})
              if (overlaps(params, *in) || overlaps(grad, *in))
                throw py::value_error("params, grad: must not overlap X or y");
            if (sample_weight &&
                (overlaps(params, *sample_weight) || overlaps(grad, *sample_weight)))
              throw py::value_error("params, grad: must not overlap sample_weight");
            T* p = static_cast<T*>(params.mutable_data());
            T* g = static_cast<T*>(grad.mutable_data());
            const T* x = static_cast<const T*>(X.data());
            EpochResult r;
            {
              ReleasedGil nogil;
              r = net.train_epoch(p, g, x, n, target, idx, epoch, optimizer, s,
                                  EpochInterrupt{&python_signal_pending, nullptr});
            }
            if (r.interrupted && PyErr_Occurred()) throw py::error_already_set();
            return py::make_tuple(r.loss_sum, r.batches, r.failed_batch);
          },
          py::arg("params"), py::arg("grad"), py::arg("X"), py::arg("y"), py::arg("order"),
          py::arg("epoch"), py::arg("optimizer"), py::arg("state"),
          py::arg("sample_weight") = py::none(),
          "One training epoch in C++: minibatches of rows order[...] (storage order when "
          "order is None), loss_and_grad (weighted by the rows' sample_weight when given), "
          "optimizer step. state holds the optimizer's "
          "arrays by name (velocity for SGD with momentum; m and v for Adam). Returns "
          "(sum of minibatch losses, minibatches done, index of the minibatch whose loss "
          "was not finite or -1). A signal handler that raises (Ctrl-C) stops the epoch "
          "after the step running then, within ~20 ms, and its exception is raised here.")
      .def(
          "reference_step",
          [](Network<T>& net, py::array& params, py::array& grad, const py::array& X,
             const py::array& y, double l1, double l2, double dropout, uint64_t seed,
             uint64_t epoch, uint64_t step, int64_t t, const OptimizerSpec& optimizer,
             const py::dict& state, std::optional<py::array> sample_weight,
             std::optional<double> clip_norm) {
            require_vector<T>(params, "params", net.num_params(), /*writable=*/true);
            require_vector<T>(grad, "grad", net.num_params(), /*writable=*/true);
            const int64_t n = batch_rows(net, X);
            const TargetView<T> target = target_view(net, y, n, sample_weight);
            const DropoutSpec drop = dropout_spec(net, dropout, seed, epoch, step);
            if (!(l1 >= 0) || !(l2 >= 0)) throw py::value_error("l1, l2: expected values >= 0");
            if (t < 1) throw py::value_error("t: expected a step number >= 1");
            const double clip = checked_clip_norm(clip_norm);
            OptimizerState<T> s = optimizer_state<T>(params, grad, optimizer, state);
            for (const py::array* in : {&X, &y})
              if (overlaps(params, *in) || overlaps(grad, *in))
                throw py::value_error("params, grad: must not overlap X or y");
            if (sample_weight &&
                (overlaps(params, *sample_weight) || overlaps(grad, *sample_weight)))
              throw py::value_error("params, grad: must not overlap sample_weight");
            T* p = static_cast<T*>(params.mutable_data());
            T* g = static_cast<T*>(grad.mutable_data());
            const T* x = static_cast<const T*>(X.data());
            ReleasedGil nogil;
            return net.reference_step(p, g, x, n, target, T(l1), T(l2), drop, optimizer, t, s,
                                      clip);
          },
          py::arg("params"), py::arg("grad"), py::arg("X"), py::arg("y"), py::arg("l1"),
          py::arg("l2"), py::arg("dropout"), py::arg("seed"), py::arg("epoch"), py::arg("step"),
          py::arg("t"), py::arg("optimizer"), py::arg("state"),
          py::arg("sample_weight") = py::none(), py::arg("clip_norm") = py::none(),
          "The unfused reference of one train_epoch step on the minibatch X: loss_and_grad "
          "into grad, clipped to the global norm clip_norm (None: not clipped), then one "
          "optimizer step t of all params (state as for train_epoch). Returns the loss "
          "(NaN: no step).");
}

// ---- epoch and optimiser descriptions ----------------------------------------

void bind_specs(py::module_& m) {
  py::class_<EpochSpec>(m, "EpochSpec")
      .def(py::init([](int64_t batch_size, double l1, double l2, double dropout, uint64_t seed,
                       uint64_t epoch, int64_t steps_before, std::optional<double> clip_norm) {
             if (batch_size < 1) throw py::value_error("batch_size: expected an integer >= 1");
             if (!(l1 >= 0) || !(l2 >= 0)) throw py::value_error("l1, l2: expected values >= 0");
             if (!(dropout >= 0 && dropout < 1))
               throw py::value_error("dropout: expected a rate in [0, 1)");
             if (steps_before < 0) throw py::value_error("steps_before: expected >= 0");
             EpochSpec spec;
             spec.batch_size = batch_size;
             spec.l1 = l1;
             spec.l2 = l2;
             spec.dropout = DropoutSpec{dropout, seed, epoch, 0};
             spec.steps_before = steps_before;
             spec.clip_norm = checked_clip_norm(clip_norm);
             return spec;
           }),
           py::arg("batch_size"), py::arg("l1") = 0.0, py::arg("l2") = 0.0,
           py::arg("dropout") = 0.0, py::arg("seed") = 0, py::arg("epoch") = 0,
           py::arg("steps_before") = 0, py::arg("clip_norm") = py::none())
      .def_readonly("batch_size", &EpochSpec::batch_size)
      .def_readonly("l1", &EpochSpec::l1)
      .def_readonly("l2", &EpochSpec::l2)
      .def_property_readonly("dropout", [](const EpochSpec& s) { return s.dropout.rate; })
      .def_property_readonly("seed", [](const EpochSpec& s) { return s.dropout.seed; })
      .def_property_readonly("epoch", [](const EpochSpec& s) { return s.dropout.epoch; })
      .def_readonly("steps_before", &EpochSpec::steps_before)
      .def_property_readonly("clip_norm",
                             [](const EpochSpec& s) -> std::optional<double> {
                               if (s.clip_norm > 0) return s.clip_norm;
                               return std::nullopt;
                             })
      .doc() = "One epoch of minibatch training (csrc/nn/network.hpp EpochSpec): batch size, "
               "penalties, dropout rate with its stream (seed, epoch), optimiser steps taken "
               "before it, gradient clipping by global norm (clip_norm, None: off).";

  py::class_<OptimizerSpec>(m, "OptimizerSpec")
      .def(py::init([](const std::string& kind, double lr, double momentum, double beta1,
                       double beta2, double eps, bool nesterov, double weight_decay,
                       double alpha) {
             OptimizerSpec spec;
             if (kind == "adam")
               spec.kind = OptimizerSpec::Kind::adam;
             else if (kind == "adamw")
               spec.kind = OptimizerSpec::Kind::adamw;
             else if (kind == "rmsprop")
               spec.kind = OptimizerSpec::Kind::rmsprop;
             else if (kind != "sgd")
               throw py::value_error(
                   "optimizer: expected 'sgd', 'adam', 'adamw' or 'rmsprop', got '" + kind + "'");
             if (!(lr > 0) || !std::isfinite(lr))
               throw py::value_error("lr: expected a finite learning rate > 0");
             if (!(momentum >= 0 && momentum < 1))
               throw py::value_error("momentum: expected a value in [0, 1)");
             if (nesterov && !(momentum > 0))
               throw py::value_error("nesterov: needs momentum > 0");
             if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1))
               throw py::value_error("beta1, beta2: expected values in [0, 1)");
             if (!(eps > 0) || !std::isfinite(eps))
               throw py::value_error("eps: expected a finite value > 0");
             if (!(weight_decay >= 0) || !std::isfinite(weight_decay))
               throw py::value_error("weight_decay: expected a finite value >= 0");
             if (!(alpha >= 0 && alpha < 1))
               throw py::value_error("alpha: expected a value in [0, 1)");
             spec.lr = lr;
             spec.momentum = momentum;
             spec.nesterov = nesterov;
             spec.beta1 = beta1;
             spec.beta2 = beta2;
             spec.eps = eps;
             spec.weight_decay = weight_decay;
             spec.alpha = alpha;
             return spec;
           }),
           py::arg("kind"), py::arg("lr"), py::arg("momentum") = 0.0, py::arg("beta1") = 0.9,
           py::arg("beta2") = 0.999, py::arg("eps") = 1e-8, py::arg("nesterov") = false,
           py::arg("weight_decay") = 0.0, py::arg("alpha") = 0.99)
      .def_property_readonly("kind",
                             [](const OptimizerSpec& s) {
                               switch (s.kind) {
                                 case OptimizerSpec::Kind::adam:
                                   return "adam";
                                 case OptimizerSpec::Kind::adamw:
                                   return "adamw";
                                 case OptimizerSpec::Kind::rmsprop:
                                   return "rmsprop";
                                 default:
                                   return "sgd";
                               }
                             })
      .def_readonly("lr", &OptimizerSpec::lr)
      .def_readonly("momentum", &OptimizerSpec::momentum)
      .def_readonly("nesterov", &OptimizerSpec::nesterov)
      .def_readonly("beta1", &OptimizerSpec::beta1)
      .def_readonly("beta2", &OptimizerSpec::beta2)
      .def_readonly("eps", &OptimizerSpec::eps)
      .def_readonly("weight_decay", &OptimizerSpec::weight_decay)
      .def_readonly("alpha", &OptimizerSpec::alpha)
      .doc() = "An optimiser for the native epoch loop (csrc/nn/optim.hpp OptimizerSpec): "
               "'sgd' (lr, momentum, nesterov), 'adam' (lr, beta1, beta2, eps), 'adamw' (as "
               "adam, weight_decay) or 'rmsprop' (lr, alpha, eps, momentum).";
}

// ---- codes shared with Python ------------------------------------------------

// The enums' names, as Python spells them (pyfastnn/_spec.py builds its tables from these).
void bind_codes(py::module_& m) {
  const std::pair<const char*, Activation> activations[] = {
      {"identity", Activation::identity}, {"relu", Activation::relu},
      {"scaled_relu", Activation::scaled_relu}, {"leaky_relu", Activation::leaky_relu},
      {"tanh", Activation::tanh}, {"sigmoid", Activation::sigmoid},
      {"softplus", Activation::softplus}, {"gelu", Activation::gelu}};
  static_assert(std::size(activations) == kNumActivations, "name every activation");
  const std::pair<const char*, Output> outputs[] = {
      {"softmax", Output::softmax}, {"sigmoid", Output::sigmoid},
      {"identity", Output::identity}, {"sparsemax", Output::sparsemax},
      {"relumax", Output::relumax}, {"entmax15", Output::entmax15},
      {"entmax", Output::entmax}};
  static_assert(std::size(outputs) == kNumOutputs, "name every output");
  const std::pair<const char*, Loss> losses[] = {{"natural", Loss::natural},
                                                 {"sparsemax", Loss::sparsemax},
                                                 {"eps_cross_entropy", Loss::eps_cross_entropy},
                                                 {"perceptron", Loss::perceptron}};
  static_assert(std::size(losses) == kNumLosses, "name every loss");
  py::dict a, o, l;
  for (const auto& [name, code] : activations) a[name] = static_cast<int>(code);
  for (const auto& [name, code] : outputs) o[name] = static_cast<int>(code);
  for (const auto& [name, code] : losses) l[name] = static_cast<int>(code);
  m.attr("ACTIVATIONS") = a;
  m.attr("OUTPUTS") = o;
  m.attr("LOSSES") = l;
  m.attr("MAX_PARAMS") = kMaxParams;
}

// ---- matmul ----------------------------------------------------------------

template <typename T>
void matmul_impl(const py::array& a, const py::array& b, bool trans_a, bool trans_b,
                 py::array& out, bool accumulate) {
  require_matrix<T>(a, "A");
  require_matrix<T>(b, "B");
  require_matrix<T>(out, "out", /*writable=*/true);
  const int64_t M = trans_a ? a.shape(1) : a.shape(0);
  const int64_t K = trans_a ? a.shape(0) : a.shape(1);
  const int64_t Kb = trans_b ? b.shape(1) : b.shape(0);
  const int64_t N = trans_b ? b.shape(0) : b.shape(1);
  if (K != Kb)
    throw py::value_error("matmul: inner dimensions differ (A gives K=" + std::to_string(K) +
                          ", B gives K=" + std::to_string(Kb) + ")");
  if (out.shape(0) != M || out.shape(1) != N)
    throw py::value_error("out: expected shape (" + std::to_string(M) + ", " +
                          std::to_string(N) + ")");
  const T* pa = static_cast<const T*>(a.data());
  const T* pb = static_cast<const T*>(b.data());
  T* pc = static_cast<T*>(out.mutable_data());
  const int64_t lda = a.shape(1), ldb = b.shape(1), ldc = out.shape(1);
  ReleasedGil nogil;
  gemm<T>(trans_a, trans_b, M, N, K, pa, lda, pb, ldb, accumulate ? T(1) : T(0), pc, ldc);
}

void matmul(const py::array& a, const py::array& b, bool trans_a, bool trans_b, py::array out,
            bool accumulate) {
  if (has_dtype<float>(out))
    matmul_impl<float>(a, b, trans_a, trans_b, out, accumulate);
  else if (has_dtype<double>(out))
    matmul_impl<double>(a, b, trans_a, trans_b, out, accumulate);
  else
    throw py::type_error("out: expected dtype float32 or float64, got " +
                         std::string(py::str(out.dtype())));
}

}  // namespace

PYBIND11_MODULE(_native, m) {
  m.doc() = "pyfastnn native kernels (C++, on the module's own thread pool)";

  m.def("matmul", &matmul, py::arg("a"), py::arg("b"), py::arg("trans_a"), py::arg("trans_b"),
        py::arg("out"), py::arg("accumulate") = false,
        "out = op(a) @ op(b) (+ out if accumulate); all C-contiguous, same dtype.");

  bind_network<float>(m, "Network32");
  bind_network<double>(m, "Network64");
  bind_specs(m);
  bind_codes(m);
  bind_simplex(m);

  m.def(
      "all_finite",
      [](const py::array& x) {
        const bool single = has_dtype<float>(x);
        if (!single && !has_dtype<double>(x))
          throw py::type_error("x: expected dtype float32 or float64, got " +
                               std::string(py::str(x.dtype())));
        require_layout(x, "x", /*writable=*/false);
        const int64_t n = static_cast<int64_t>(x.size());
        const void* data = x.data();
        ReleasedGil release;
        return single ? all_finite(static_cast<const float*>(data), n)
                      : all_finite(static_cast<const double*>(data), n);
      },
      py::arg("x"), "Whether no element of x (C-contiguous float32/float64) is NaN or inf.");
  bind_runtime(m);
  m.def("cpu_supports_avx2_fma", &cpu_supports_avx2_fma);
  m.def("cpu_supports_avx512", &cpu_supports_avx512);
  m.def("active_isa", [] { return std::string(isa_name(active_isa())); });
  m.def("set_active_isa", [](const std::string& name) {
    const std::optional<Isa> isa = parse_isa(name);
    if (!isa)
      throw py::value_error(std::string("isa: expected one of ") + isa_names_accepted() +
                            ", got '" + name + "'");
    if (!cpu_supports(*isa))
      throw py::value_error(std::string("isa: this CPU cannot run the '") + isa_name(*isa) +
                            "' kernels");
    select_isa(*isa);
  });
  // {dtype: {family: isa}}: the kernels each family uses now.
  m.def("active_kernels", [] {
    py::dict out;
    for (const KernelChoice& k : active_kernels()) {
      if (!out.contains(k.dtype)) out[py::str(k.dtype)] = py::dict();
      py::dict families = out[py::str(k.dtype)];
      families[py::str(k.family)] = isa_name(k.isa);
    }
    return out;
  });
  // (deprecated, message) about PYFASTNN_KERNEL at load; message "" if none.
  m.def("kernel_environment_problem", [] {
    const EnvironmentProblem p = kernel_environment_problem();
    return py::make_tuple(p.deprecated, p.message);
  });
}
