// Running OpenBLAS's threaded kernels on this module's thread pool (opt in:
// route_blas_threads, PYFASTNN_BLAS_THREADS=pool).
//
// OpenBLAS (0.3.27 and later) lets the program that loads it run its
// parallel work instead of its own worker threads
// (openblas_set_threads_callback_function). NumPy's OpenBLAS keeps one
// worker spinning for ~0.1 s after every call without yielding; on a 2-core
// machine a native call made between two NumPy products found one core taken
// and ran at one thread's speed. With the work of both libraries on one pool
// there is one set of threads, and they sleep soon after each call.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace pyfastnn {

// Finds every OpenBLAS loaded in the process now (by the callback setter's
// exported name, under any of the names OpenBLAS builds give it) and routes
// its threaded work to the pool (on) or back to its own threads (off).
// Returns the paths of the libraries changed. OpenBLAS reads the hook once
// as each threaded call starts, so it may change at any time (a call
// finishes where it started).
std::vector<std::string> route_blas_threads(bool on);

// Whether route_blas_threads(true) is in effect for some library.
bool blas_threads_routed();

// While routed: at most every 0.1 s (each native call asks, NativeCall), if
// the process loaded libraries since the last look, routes every OpenBLAS
// again, so that one loaded after import (SciPy's) joins the pool. The paths
// of the libraries routed now (none while not routed).
void route_new_blas_libraries(int64_t now_ns);
std::vector<std::string> blas_routed_libraries();

// OpenBLAS calls whose team had a member start more than 0.5 ms late (the
// machine did not run a pool worker in time: another process on the core).
int64_t blas_late_teams();

}  // namespace pyfastnn
