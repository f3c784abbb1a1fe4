// Running OpenBLAS's threaded kernels on this module's thread pool.
//
// OpenBLAS (0.3.27 and later) lets the program that loads it run its
// parallel work instead of its own worker threads
// (openblas_set_threads_callback_function). NumPy's OpenBLAS keeps one
// worker spinning for ~0.1 s after every call without yielding; on a 2-core
// machine a native call made between two NumPy products found one core taken
// and ran at one thread's speed. With the work of both libraries on one pool
// there is one set of threads, and they sleep soon after each call.
#pragma once

#include <string>
#include <vector>

namespace pyfastnn {

// Finds every OpenBLAS loaded in the process now (by the callback setter's
// exported name, under any of the names OpenBLAS builds give it) and routes
// its threaded work to the pool (on) or back to its own threads (off).
// Returns the paths of the libraries changed. Libraries loaded later are not
// affected. Call it while no other thread is inside OpenBLAS.
std::vector<std::string> route_blas_threads(bool on);

// Whether route_blas_threads(true) is in effect for some library.
bool blas_threads_routed();

}  // namespace pyfastnn
