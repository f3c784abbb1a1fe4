// Running the pool's jobs on a loaded libgomp's team instead of the pool's
// own workers (opt in: route_openmp_threads).
//
// PyTorch's wheel brings its own libgomp, whose team spins after every region
// (GOMP_SPINCOUNT) while the pool's worker wants the same core, and the
// pool's worker then holds the core the next region needs: on 2 cores a
// 784-256-26 loss_and_grad at batch 64 called alternately with PyTorch's
// 256x256 matmul took ~2x its time alone. libgomp has no hook to run its work
// elsewhere (OpenBLAS has, blas_threads.hpp), so the pool goes the other way:
// a routed job is handed to that libgomp's GOMP_parallel and its members
// claim the job's fixed pieces from one shared counter, as the pool's workers
// do (thread_pool.cpp), with the caller as the team's thread 0. One set of
// threads then serves both libraries, and the pool's workers stay asleep.
//
// GOMP_parallel is GCC's ABI for `#pragma omp parallel` since GCC 4.9:
//   void GOMP_parallel(void (*fn)(void*), void* data, unsigned num_threads,
//                      unsigned flags);
// looked up at run time in a library already loaded: no link-time dependency.
#pragma once

#include <string>
#include <vector>

namespace pyfastnn {

// Paths of the libraries loaded in the process now that define GOMP_parallel
// themselves (not through a dependency), in load order.
std::vector<std::string> openmp_libraries();

// Routes the pool's jobs to the libgomp at `path` (one of openmp_libraries()),
// or back to the pool's own workers when path is empty. Returns whether a
// library is routed afterwards (false when path defines no GOMP_parallel).
// Call it while no native call is running.
bool route_openmp_threads(const std::string& path);

// The routed library's path, empty when none.
std::string openmp_threads_routed();

// Runs member(data) on every thread of a team of up to `team` threads of the
// routed libgomp, the calling thread being the team's thread 0, and returns
// when all have returned. Returns false without running anything when no
// library is routed, in a forked child (the parent's team did not survive the
// fork), or inside an OpenMP region (libgomp would run a nested region on one
// thread). member must not throw.
bool run_on_openmp_team(int team, void (*member)(void*), void* data);

// Like run_on_openmp_team, for members that wait for one another (run_team):
// false also when the routed libgomp might run fewer than `team` threads
// (dynamic team sizes, a thread limit below team).
bool run_on_full_openmp_team(int team, void (*member)(void*), void* data);

// Inside member: its number in the team (0: the caller) and the team's size.
int openmp_thread_num();
int openmp_team_size();

}  // namespace pyfastnn
