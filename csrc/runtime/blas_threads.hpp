// Running OpenBLAS's threaded kernels on this module's thread pool (on by
// default: pyfastnn/_runtime.py routes at import).
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

// OpenBLAS's teams need every member running at once (its level-3 kernels
// wait for one another without yielding). A team whose member the machine
// did not start within kLateMemberNs (another process held the core) turns
// the hook off for a back-off, OpenBLAS's own threads running its calls
// meanwhile; the first native call after the back-off (NativeCall) turns it
// on again. Whether it is off now, how many teams were late, and the re-attach
// (a no-op before the back-off ends or when not routed).
bool blas_threads_detached();
int64_t blas_late_teams();
void reattach_blas_threads(int64_t now_ns);
// What a late team does, for tests: the hook off for the next back-off.
void note_late_blas_team();
// Forgets late teams: the next native call re-attaches (reset_contention).
void forget_late_blas_teams();

}  // namespace pyfastnn
