// Python bindings of the simplex maps (simplex.hpp): argument checks, dtype
// dispatch, GIL release. No numerical work happens here. The Python layer
// (pyfastnn/simplex.py) validates and converts first; these checks are the
// last line of defence for direct calls into _native.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cmath>
#include <cstdint>
#include <iterator>
#include <optional>
#include <string>

#include "bindings/array_checks.hpp"
#include "bindings/released_gil.hpp"
#include "simd/exp_kernels.hpp"
#include "simplex/simplex.hpp"

namespace py = pybind11;
using namespace pyfastnn;
using namespace pyfastnn::bindings;

namespace {

// A C-contiguous 2-D array of dtype T with at least one column.
template <typename T>
void require_matrix(const py::array& a, const char* name, bool writable = false) {
  if (!has_dtype<T>(a)) dtype_error(name, a, std::string(py::str(py::dtype::of<T>())));
  if (a.ndim() != 2)
    throw py::value_error(std::string(name) + ": expected a 2-D array, got ndim=" +
                          std::to_string(a.ndim()));
  if (a.shape(1) < 1) throw py::value_error(std::string(name) + ": expected at least one column");
  require_layout(a, name, writable);
}

template <typename T>
void require_like(const py::array& a, const char* name, const py::array& like,
                  const char* like_name, bool writable = false) {
  require_matrix<T>(a, name, writable);
  if (a.shape(0) != like.shape(0) || a.shape(1) != like.shape(1))
    throw py::value_error(std::string(name) + ": expected the shape of " + like_name + " (" +
                          std::to_string(like.shape(0)) + ", " + std::to_string(like.shape(1)) +
                          "), got (" + std::to_string(a.shape(0)) + ", " +
                          std::to_string(a.shape(1)) + ")");
}

// out must not share memory with `in`; with allow_same, exactly the same buffer is fine.
void require_no_overlap(const py::array& out, const char* out_name, const py::array& in,
                        const char* in_name, bool allow_same = false) {
  const char* a = static_cast<const char*>(out.data());
  const char* b = static_cast<const char*>(in.data());
  const auto na = static_cast<std::ptrdiff_t>(out.nbytes());
  const auto nb = static_cast<std::ptrdiff_t>(in.nbytes());
  if (allow_same && a == b && na == nb) return;
  if (na > 0 && nb > 0 && a < b + nb && b < a + na)
    throw py::value_error(std::string(out_name) + ": must not overlap " + in_name);
}

// A finite, positive scalar that stays finite and positive in dtype T.
template <typename T>
T positive(double value, const char* name) {
  const T v = static_cast<T>(value);
  if (!(v > T(0)) || !std::isfinite(v))
    throw py::value_error(std::string(name) + ": expected a finite number > 0 representable in " +
                          std::string(py::str(py::dtype::of<T>())) + ", got " +
                          std::to_string(value));
  return v;
}

// Calls f(T{}) with T the dtype of `a` (float32 or float64).
template <typename F>
auto dispatch(const py::array& a, const char* name, F&& f) {
  if (has_dtype<float>(a)) return f(float{});
  if (has_dtype<double>(a)) return f(double{});
  dtype_error(name, a, "float32 or float64");
}


template <typename T>
const T* cptr(const py::array& a) {
  return static_cast<const T*>(a.data());
}
template <typename T>
T* mptr(py::array& a) {
  return static_cast<T*>(a.mutable_data());
}

// ---- forward maps ---------------------------------------------------------------

void forward(const char* which, const py::array& Z, py::array out, double b, double inv_t) {
  dispatch(Z, "Z", [&](auto tag) {
    using T = decltype(tag);
    require_matrix<T>(Z, "Z");
    require_like<T>(out, "out", Z, "Z", /*writable=*/true);
    require_no_overlap(out, "out", Z, "Z");
    const T it = positive<T>(inv_t, "inv_temperature");
    const std::string w = which;
    const T bt = w == "relumax" ? relumax_b<T>(b) : T(1);
    const int64_t n = Z.shape(0), K = Z.shape(1);
    const T* z = cptr<T>(Z);
    T* p = mptr<T>(out);
    ReleasedGil nogil;
    if (w == "softmax")
      softmax_forward<T>(z, n, K, p, it);
    else if (w == "sparsemax")
      sparsemax_forward<T>(z, n, K, p, it);
    else
      relumax_forward<T>(z, n, K, bt, p, it);
  });
}

void threshold(const py::array& Z, py::array tau, double inv_t) {
  dispatch(Z, "Z", [&](auto tag) {
    using T = decltype(tag);
    require_matrix<T>(Z, "Z");
    require_vector<T>(tau, "tau", Z.shape(0), /*writable=*/true);
    require_no_overlap(tau, "tau", Z, "Z");
    const T it = positive<T>(inv_t, "inv_temperature");
    const T* z = cptr<T>(Z);
    T* t = mptr<T>(tau);
    const int64_t n = Z.shape(0), K = Z.shape(1);
    ReleasedGil nogil;
    sparsemax_threshold<T>(z, n, K, t, it);
  });
}

// ---- Jacobian products ------------------------------------------------------------

// A (n, K) and V, out like it; out may be A or V exactly when `in_place` (else it
// overlaps neither).
template <typename T>
void require_product_operands(const py::array& A, const char* a_name, const py::array& V,
                              const char* v_name, const py::array& out, bool in_place) {
  require_matrix<T>(A, a_name);
  require_like<T>(V, v_name, A, a_name);
  require_like<T>(out, "out", A, a_name, /*writable=*/true);
  require_no_overlap(out, "out", A, a_name, in_place);
  require_no_overlap(out, "out", V, v_name, in_place);
}

enum class Product { jvp, vjp };

void product(SparseMap map, Product kind, const py::array& P, const py::array& V, py::array out,
             double b, double inv_t) {
  const char* vname = kind == Product::jvp ? "V" : "G";
  dispatch(P, "P", [&](auto tag) {
    using T = decltype(tag);
    require_product_operands<T>(P, "P", V, vname, out, /*in_place=*/true);
    const T it = positive<T>(inv_t, "inv_temperature");
    const T bt = map == SparseMap::relumax ? relumax_b<T>(b) : T(1);
    const int64_t n = P.shape(0), K = P.shape(1);
    const T* p = cptr<T>(P);
    const T* v = cptr<T>(V);
    T* o = mptr<T>(out);
    ReleasedGil nogil;
    const bool jvp = kind == Product::jvp;
    switch (map) {
      case SparseMap::softmax:
        return jvp ? softmax_jvp_from_output<T>(p, v, n, K, o, it)
                   : softmax_vjp_from_output<T>(p, v, n, K, o, it);
      case SparseMap::sparsemax:
        return jvp ? sparsemax_jvp_from_output<T>(p, v, n, K, o, it)
                   : sparsemax_vjp_from_output<T>(p, v, n, K, o, it);
      case SparseMap::relumax:
        return jvp ? relumax_jvp_from_output<T>(p, v, n, K, bt, o, it)
                   : relumax_vjp_from_output<T>(p, v, n, K, bt, o, it);
    }
  });
}

// ---- losses -------------------------------------------------------------------------

SparseMap map_code(int code) {
  if (code < 0 || code >= kNumSparseMaps)
    throw py::value_error("mapping: unknown code " + std::to_string(code));
  return static_cast<SparseMap>(code);
}

// simplex_loss's code of the sparsemax (Fenchel-Young) loss; 0..kNumSparseMaps-1 select
// the eps-smoothed cross-entropy of that map.
constexpr int kSparsemaxLossCode = -1;

// The arguments every loss binding takes, checked: Z (n, K), labels y (n,)
// in [0, K), loss_rows (n,) and dZ (n, K) when given, writable and not
// overlapping Z or each other; inv_temperature > 0.
template <typename T>
struct LossArgs {
  int64_t n, K;
  const int64_t* labels;
  T* dZ;  // nullptr: no gradient wanted
  T inv_t;
};

template <typename T>
LossArgs<T> checked_loss_args(const py::array& Z, const py::array& y, py::array& loss_rows,
                              std::optional<py::array>& dZ, double inv_t) {
  require_matrix<T>(Z, "Z");
  const int64_t n = Z.shape(0), K = Z.shape(1);
  const int64_t* labels = checked_labels(y, n, K);
  require_vector<T>(loss_rows, "loss_rows", n, /*writable=*/true);
  require_no_overlap(loss_rows, "loss_rows", Z, "Z");
  T* g = nullptr;
  if (dZ) {
    require_like<T>(*dZ, "dZ", Z, "Z", /*writable=*/true);
    require_no_overlap(*dZ, "dZ", Z, "Z");
    require_no_overlap(*dZ, "dZ", loss_rows, "loss_rows");
    g = mptr<T>(*dZ);
  }
  return {n, K, labels, g, positive<T>(inv_t, "inv_temperature")};
}

// Sum of the per-row losses; fills loss_rows (n) and, when given, dZ (n, K).
double loss(int code, const py::array& Z, const py::array& y, double b, double eps,
            py::array loss_rows, std::optional<py::array> dZ, double scale, double inv_t) {
  const bool fy = code == kSparsemaxLossCode;
  const SparseMap map = fy ? SparseMap::sparsemax : map_code(code);
  return dispatch(Z, "Z", [&](auto tag) {
    using T = decltype(tag);
    const LossArgs<T> args = checked_loss_args<T>(Z, y, loss_rows, dZ, inv_t);
    const int64_t n = args.n, K = args.K;
    const int64_t* labels = args.labels;
    T* g = args.dZ;
    const T it = args.inv_t;
    const T bt = map == SparseMap::relumax ? relumax_b<T>(b) : T(1);
    const T et = fy ? T(1) : positive<T>(eps, "eps");
    if (!std::isfinite(scale)) throw py::value_error("scale: expected a finite number");
    const T* z = cptr<T>(Z);
    T* lr = mptr<T>(loss_rows);
    ReleasedGil nogil;
    if (fy) return sparsemax_loss<T>(z, labels, n, K, lr, g, T(scale), it);
    return smoothed_cross_entropy<T>(map, z, labels, n, K, bt, et, lr, g, T(scale), it);
  });
}

// ---- entmax ---------------------------------------------------------------------

// alpha > 1 and finite, as a T.
template <typename T>
T checked_alpha(double alpha) {
  const T a = static_cast<T>(alpha);
  if (!(a > T(1)) || !std::isfinite(a))
    throw py::value_error("alpha: expected a finite number > 1, got " + std::to_string(alpha));
  return a;
}

// alpha <= 0 selects entmax15 (exact threshold), else alpha-entmax by bisection.
void entmax_forward(const py::array& Z, py::array out, double alpha, bool exact15,
                    double inv_t) {
  dispatch(Z, "Z", [&](auto tag) {
    using T = decltype(tag);
    require_matrix<T>(Z, "Z");
    require_like<T>(out, "out", Z, "Z", /*writable=*/true);
    require_no_overlap(out, "out", Z, "Z");
    const T it = positive<T>(inv_t, "inv_temperature");
    const T a = exact15 ? T(1.5) : checked_alpha<T>(alpha);
    const int64_t n = Z.shape(0), K = Z.shape(1);
    const T* z = cptr<T>(Z);
    T* p = mptr<T>(out);
    ReleasedGil nogil;
    if (exact15)
      entmax15_forward<T>(z, n, K, p, it);
    else
      entmax_bisect_forward<T>(z, n, K, a, p, it);
  });
}

void entmax_product(const py::array& P, const py::array& V, py::array out, double alpha,
                    double inv_t) {
  dispatch(P, "P", [&](auto tag) {
    using T = decltype(tag);
    require_product_operands<T>(P, "P", V, "V", out, /*in_place=*/true);
    const T it = positive<T>(inv_t, "inv_temperature");
    const T a = checked_alpha<T>(alpha);
    const int64_t n = P.shape(0), K = P.shape(1);
    const T* p = cptr<T>(P);
    const T* v = cptr<T>(V);
    T* o = mptr<T>(out);
    ReleasedGil nogil;
    entmax_product_from_output<T>(p, v, n, K, a, o, it);
  });
}

void entmax_bisect_product(const py::array& Z, const py::array& V, py::array out, double alpha,
                           double inv_t) {
  dispatch(Z, "Z", [&](auto tag) {
    using T = decltype(tag);
    require_product_operands<T>(Z, "Z", V, "V", out, /*in_place=*/false);
    const T it = positive<T>(inv_t, "inv_temperature");
    const T a = checked_alpha<T>(alpha);
    const int64_t n = Z.shape(0), K = Z.shape(1);
    const T* z = cptr<T>(Z);
    const T* v = cptr<T>(V);
    T* o = mptr<T>(out);
    ReleasedGil nogil;
    entmax_bisect_product_from_input<T>(z, v, n, K, a, o, it);
  });
}

double entmax_loss(const py::array& Z, const py::array& y, double alpha, bool exact15,
                   py::array loss_rows, std::optional<py::array> dZ, double scale,
                   double inv_t) {
  return dispatch(Z, "Z", [&](auto tag) {
    using T = decltype(tag);
    const LossArgs<T> args = checked_loss_args<T>(Z, y, loss_rows, dZ, inv_t);
    const int64_t n = args.n, K = args.K;
    const int64_t* labels = args.labels;
    T* g = args.dZ;
    const T it = args.inv_t;
    const T a = exact15 ? T(1.5) : checked_alpha<T>(alpha);
    if (!std::isfinite(scale)) throw py::value_error("scale: expected a finite number");
    const T* z = cptr<T>(Z);
    T* lr = mptr<T>(loss_rows);
    ReleasedGil nogil;
    if (exact15) return entmax15_loss<T>(z, labels, n, K, lr, g, T(scale), it);
    return entmax_bisect_loss<T>(z, labels, n, K, a, lr, g, T(scale), it);
  });
}

// The softmax exp family of the active ISA on one vector (for the tests of its
// error bound): out = exp((z - m) * scale), returns the sum; with minus_max
// (float32 only, the network's kernel) m is max z, scale 1, and (sum, m) is returned.
py::object softmax_exp(const py::array& z, py::array out, double m, double scale,
                       bool minus_max) {
  return dispatch(z, "z", [&](auto tag) -> py::object {
    using T = decltype(tag);
    const int64_t n = z.ndim() == 1 ? z.shape(0) : -1;
    if (n < 1) throw py::value_error("z: expected a non-empty 1-D array");
    require_vector<T>(z, "z", n);
    require_vector<T>(out, "out", n, /*writable=*/true);
    require_no_overlap(out, "out", z, "z", /*allow_same=*/true);
    const T* zp = cptr<T>(z);
    T* op = mptr<T>(out);
    if (minus_max) {
      T mx = 0, sum = 0;
      {
        ReleasedGil nogil;
        sum = active_exp_minus_max<T>()(zp, n, op, &mx);
      }
      return py::make_tuple(sum, mx);
    }
    T sum = 0;
    {
      ReleasedGil nogil;
      sum = active_exp_shifted<T>()(zp, n, T(m), T(scale), op);
    }
    return py::float_(sum);
  });
}

}  // namespace

void bind_simplex(py::module_& m) {
  m.def("softmax_forward",
        [](const py::array& Z, py::array out, double inv_t) {
          forward("softmax", Z, out, 1.0, inv_t);
        },
        py::arg("Z"), py::arg("out"), py::arg("inv_temperature") = 1.0,
        "out (n, K) = softmax(Z / T) row by row; Z (n, K) float32/float64, C-contiguous.");
  m.def("sparsemax_forward",
        [](const py::array& Z, py::array out, double inv_t) {
          forward("sparsemax", Z, out, 1.0, inv_t);
        },
        py::arg("Z"), py::arg("out"), py::arg("inv_temperature") = 1.0,
        "out (n, K) = sparsemax(Z / T) row by row (no overlap with Z).");
  m.def("relumax_forward",
        [](const py::array& Z, py::array out, double b, double inv_t) {
          forward("relumax", Z, out, b, inv_t);
        },
        py::arg("Z"), py::arg("out"), py::arg("b"), py::arg("inv_temperature") = 1.0,
        "out (n, K) = relumax_b(Z / T) row by row, b > 0.");
  m.def("sparsemax_threshold", &threshold, py::arg("Z"), py::arg("tau"),
        py::arg("inv_temperature") = 1.0,
        "tau (n,): sparsemax(Z / T) = max(Z / T - tau[:, None], 0).");

  // The maps' names, as Python spells them (pyfastnn/backends/simplex_native.py).
  const char* names[] = {"softmax", "sparsemax", "relumax"};
  static_assert(std::size(names) == kNumSparseMaps, "name every sparse map");
  py::dict codes;
  for (int code = 0; code < kNumSparseMaps; ++code) codes[names[code]] = code;
  m.attr("SPARSE_MAPS") = codes;
  m.attr("SPARSEMAX_LOSS") = kSparsemaxLossCode;
  for (int code = 0; code < kNumSparseMaps; ++code) {
    const SparseMap map = static_cast<SparseMap>(code);
    for (Product kind : {Product::jvp, Product::vjp}) {
      const std::string name = std::string(names[code]) +
                               (kind == Product::jvp ? "_jvp" : "_vjp") + "_from_output";
      const char* vname = kind == Product::jvp ? "V" : "G";
      m.def(name.c_str(),
            [map, kind](const py::array& P, const py::array& V, py::array out, double b,
                        double inv_t) { product(map, kind, P, V, out, b, inv_t); },
            py::arg("P"), py::arg(vname), py::arg("out"), py::arg("b") = 1.0,
            py::arg("inv_temperature") = 1.0,
            "out (n, K) = J V (jvp) or J^T G (vjp) row by row, J the Jacobian of the map at "
            "Z / T, from P = map(Z / T) (n, K); b is used by relumax only.");
    }
  }
  m.def("simplex_loss", &loss, py::arg("mapping"), py::arg("Z"), py::arg("y"), py::arg("b"),
        py::arg("eps"), py::arg("loss_rows"), py::arg("dZ"), py::arg("scale"),
        py::arg("inv_temperature") = 1.0,
        "Sum over rows of the loss; mapping -1 = sparsemax loss, 0/1/2 = eps-smoothed "
        "cross-entropy of softmax/sparsemax/relumax. Fills loss_rows (n) and dZ (n, K) = "
        "scale * gradient when given; y int64 (n) in [0, K).");
  m.def("softmax_exp", &softmax_exp, py::arg("z"), py::arg("out"), py::arg("m") = 0.0,
        py::arg("scale") = 1.0, py::arg("minus_max") = false,
        "out = exp((z - m) * scale) by the active softmax exp kernel; returns the sum "
        "(minus_max: m = max z, scale 1, returns (sum, m)). For tests.");
  m.def("entmax15_forward",
        [](const py::array& Z, py::array out, double inv_t) {
          entmax_forward(Z, out, 1.5, true, inv_t);
        },
        py::arg("Z"), py::arg("out"), py::arg("inv_temperature") = 1.0,
        "out (n, K) = entmax15(Z / T) row by row (exact threshold; no overlap with Z).");
  m.def("entmax_bisect_forward",
        [](const py::array& Z, py::array out, double alpha, double inv_t) {
          entmax_forward(Z, out, alpha, false, inv_t);
        },
        py::arg("Z"), py::arg("out"), py::arg("alpha"), py::arg("inv_temperature") = 1.0,
        "out (n, K) = alpha-entmax(Z / T) row by row, alpha > 1 (no overlap with Z).");
  m.def("entmax_product_from_output", &entmax_product, py::arg("P"), py::arg("V"),
        py::arg("out"), py::arg("alpha"), py::arg("inv_temperature") = 1.0,
        "out (n, K) = J V / T = J^T V / T row by row, J = diag(s) - s s^T / sum(s), "
        "s = P^(2 - alpha) on the support, from P = alpha-entmax(Z / T).");
  m.def("entmax_bisect_product_from_input", &entmax_bisect_product, py::arg("Z"), py::arg("V"),
        py::arg("out"), py::arg("alpha"), py::arg("inv_temperature") = 1.0,
        "out (n, K) = J V / T = J^T V / T row by row at P = alpha-entmax(Z / T), alpha > 1, "
        "without storing P (fused where a kernel serves); out overlaps neither Z nor V.");
  m.def("entmax15_loss",
        [](const py::array& Z, const py::array& y, py::array loss_rows,
           std::optional<py::array> dZ, double scale, double inv_t) {
          return entmax_loss(Z, y, 1.5, true, loss_rows, dZ, scale, inv_t);
        },
        py::arg("Z"), py::arg("y"), py::arg("loss_rows"), py::arg("dZ"), py::arg("scale"),
        py::arg("inv_temperature") = 1.0,
        "Sum over rows of the entmax15 Fenchel-Young loss; fills loss_rows (n) and dZ (n, K) "
        "= scale * gradient when given; y int64 (n) in [0, K).");
  m.def("entmax_bisect_loss",
        [](const py::array& Z, const py::array& y, double alpha, py::array loss_rows,
           std::optional<py::array> dZ, double scale, double inv_t) {
          return entmax_loss(Z, y, alpha, false, loss_rows, dZ, scale, inv_t);
        },
        py::arg("Z"), py::arg("y"), py::arg("alpha"), py::arg("loss_rows"), py::arg("dZ"),
        py::arg("scale"), py::arg("inv_temperature") = 1.0,
        "Sum over rows of the alpha-entmax Fenchel-Young loss (alpha > 1); as entmax15_loss.");
}
