// Python bindings: argument conversion and checks, dtype dispatch, GIL release.
// No numerical work happens here.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <string>

#include "cpu.hpp"
#include "gemm.hpp"
#include "threads.hpp"

namespace py = pybind11;
using namespace pyfastnn;

namespace {

// ---- argument checks -------------------------------------------------------

template <typename T>
bool has_dtype(const py::array& a) {
  return a.dtype().is(py::dtype::of<T>());
}

// A C-contiguous 2-D array of dtype T; `name` goes into the error message.
template <typename T>
void require_matrix(const py::array& a, const char* name, bool writable = false) {
  if (!has_dtype<T>(a))
    throw py::type_error(std::string(name) + ": expected dtype " +
                         std::string(py::str(py::dtype::of<T>())) + ", got " +
                         std::string(py::str(a.dtype())));
  if (a.ndim() != 2)
    throw py::value_error(std::string(name) + ": expected a 2-D array, got ndim=" +
                          std::to_string(a.ndim()));
  if (!(a.flags() & py::array::c_style))
    throw py::value_error(std::string(name) + ": expected a C-contiguous array");
  if (writable && !a.writeable())
    throw py::value_error(std::string(name) + ": array is read-only");
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
  py::gil_scoped_release nogil;
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
  m.doc() = "pyfastnn native kernels (C++, OpenMP)";

  m.def("matmul", &matmul, py::arg("a"), py::arg("b"), py::arg("trans_a"), py::arg("trans_b"),
        py::arg("out"), py::arg("accumulate") = false,
        "out = op(a) @ op(b) (+ out if accumulate); all C-contiguous, same dtype.");

  m.def("num_threads", &num_threads);
  m.def("set_num_threads", [](int n) {
    if (n < 1) throw py::value_error("n: expected a thread count >= 1, got " + std::to_string(n));
    set_num_threads(n);
  });
  m.def("cpu_supports_avx2_fma", &cpu_supports_avx2_fma);
  m.def("active_isa", [] { return std::string(isa_name(active_isa())); });
  m.def("set_active_isa", [](const std::string& name) {
    if (name == "portable")
      set_active_isa(Isa::portable);
    else if (name == "avx2_fma") {
      if (!cpu_supports_avx2_fma())
        throw py::value_error("isa: this CPU does not support AVX2/FMA");
      set_active_isa(Isa::avx2_fma);
    } else
      throw py::value_error("isa: expected 'portable' or 'avx2_fma', got '" + name + "'");
  });
}
