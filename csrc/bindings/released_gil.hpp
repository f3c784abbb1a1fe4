// The GIL released for the lifetime of a native call, in a way that survives
// interpreter shutdown.
//
// py::gil_scoped_release takes the GIL back in a noexcept destructor. When a
// daemon Python thread is inside a native call as the interpreter finalizes,
// CPython (3.9-3.13) ends that thread with pthread_exit() as it asks for the
// GIL, which unwinds the stack; unwinding out of a noexcept destructor calls
// std::terminate, and the whole process aborted at exit ("terminate called
// without an active exception", tests/test_interpreter_exit.py). Here a
// thread that finds the interpreter finalizing parks instead (as CPython 3.14
// does for daemon threads): the process exit ends it, and nothing touches
// Python objects without the GIL. The destructor is noexcept(false) for the
// window in which finalization starts after that check, so the forced unwind
// of pthread_exit can pass (pybind11's dispatcher rethrows it).
// While the GIL is released the call counts as running (NativeCall), so that
// calls from several Python threads at once share the cores.
#pragma once

#include <Python.h>

#include <chrono>
#include <thread>

#include "runtime/parallel.hpp"

namespace pyfastnn {

inline bool python_finalizing() {
#if PY_VERSION_HEX >= 0x030D0000
  return Py_IsFinalizing() != 0;
#else
  return _Py_IsFinalizing() != 0;
#endif
}

class ReleasedGil {
 public:
  ReleasedGil() : state_(PyEval_SaveThread()) {}
  ~ReleasedGil() noexcept(false) {
    if (python_finalizing())
      for (;;) std::this_thread::sleep_for(std::chrono::hours(1));
    PyEval_RestoreThread(state_);
  }
  ReleasedGil(const ReleasedGil&) = delete;
  ReleasedGil& operator=(const ReleasedGil&) = delete;

 private:
  PyThreadState* state_;
  NativeCall counted_;  // concurrent calls share the threads (runtime/parallel.hpp)
};

}  // namespace pyfastnn
