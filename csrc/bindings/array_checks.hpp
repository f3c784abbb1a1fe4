// Checks of NumPy arguments shared by the bindings; every error names the
// argument. Header-only: each binding file includes it.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>

namespace pyfastnn {
namespace bindings {

namespace py = pybind11;

// Equivalent dtypes match (a float64 carrying metadata is still float64).
template <typename T>
bool has_dtype(const py::array& a) {
  return py::detail::npy_api::get().PyArray_EquivTypes_(a.dtype().ptr(),
                                                         py::dtype::of<T>().ptr());
}

[[noreturn]] inline void dtype_error(const char* name, const py::array& a,
                                     const std::string& expected) {
  throw py::type_error(std::string(name) + ": expected dtype " + expected + ", got " +
                       std::string(py::str(a.dtype())));
}

// Memory the kernels may read (and, if writable, write) through a T*: C-contiguous
// and aligned for its dtype. The Python layer copies misaligned input once
// (pyfastnn/_checks.py), so no kernel ever loads or stores through a misaligned
// pointer; what reaches this check misaligned is refused.
inline void require_layout(const py::array& a, const char* name, bool writable) {
  if (!(a.flags() & py::array::c_style))
    throw py::value_error(std::string(name) + ": expected a C-contiguous array");
  if (!(a.flags() & py::detail::npy_api::NPY_ARRAY_ALIGNED_))
    throw py::value_error(std::string(name) + ": expected an aligned array (copy it first)");
  if (writable && !a.writeable())
    throw py::value_error(std::string(name) + ": array is read-only");
}

// A C-contiguous 1-D array of dtype T and length n.
template <typename T>
void require_vector(const py::array& a, const char* name, int64_t n, bool writable = false) {
  if (!has_dtype<T>(a)) dtype_error(name, a, std::string(py::str(py::dtype::of<T>())));
  if (a.ndim() != 1 || a.shape(0) != n)
    throw py::value_error(std::string(name) + ": expected shape (" + std::to_string(n) + ",)");
  require_layout(a, name, writable);
}

// Whether two arrays share any byte.
inline bool overlaps(const py::array& a, const py::array& b) {
  const char* a0 = static_cast<const char*>(a.data());
  const char* b0 = static_cast<const char*>(b.data());
  const auto na = static_cast<std::ptrdiff_t>(a.nbytes());
  const auto nb = static_cast<std::ptrdiff_t>(b.nbytes());
  return na > 0 && nb > 0 && a0 < b0 + nb && b0 < a0 + na;
}

// relumax's b: a normal number of dtype T. A subnormal b makes 1 / sum(relu(...))
// (sum <= K b) overflow to inf.
template <typename T>
T relumax_b(double b) {
  const T v = static_cast<T>(b);
  if (!(v >= std::numeric_limits<T>::min()) || !std::isfinite(v))
    throw py::value_error("b: expected a finite number >= " +
                          std::to_string(std::numeric_limits<T>::min()) +
                          " (the smallest normal " + std::string(py::str(py::dtype::of<T>())) +
                          "), got " + std::to_string(b));
  return v;
}

// y: integer class labels (n,) int64, each in [0, K).
inline const int64_t* checked_labels(const py::array& y, int64_t n, int64_t K) {
  require_vector<int64_t>(y, "y", n);
  const int64_t* labels = static_cast<const int64_t*>(y.data());
  for (int64_t i = 0; i < n; ++i)
    if (labels[i] < 0 || labels[i] >= K)
      throw py::value_error("y: labels must lie in [0, " + std::to_string(K) + "), got " +
                            std::to_string(labels[i]));
  return labels;
}

}  // namespace bindings
}  // namespace pyfastnn
