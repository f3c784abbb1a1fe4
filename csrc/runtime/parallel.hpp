// Parallel work: the one entry every parallel region of the module goes
// through, run by the module's own thread pool (thread_pool.cpp).
//
// A job is `pieces` fixed pieces of work. The calling thread takes piece 0
// and then, with up to threads - 1 pool workers, claims the remaining pieces
// one at a time from a shared counter; the job is over when every piece has
// finished (counted by pieces, not by thread arrival). So a worker that the
// machine does not run in time delays only the piece it claimed, a worker
// that wakes late finds the pieces already taken, and the caller alone can
// always finish a job. Pieces are fixed by the caller, never by the team: a
// piece writes its own part of the result, and anything pieces share (a sum)
// is combined by the caller in piece order afterwards, so a job gives the
// same bits whichever threads ran its pieces, and on any thread count.
#pragma once

#include <cstdint>
#include <type_traits>

#include "runtime/threads.hpp"

namespace pyfastnn {

// A non-owning reference to a callable void(int64_t piece), as TaskRef.
class PieceRef {
 public:
  template <class F, class = std::enable_if_t<!std::is_same_v<std::decay_t<F>, PieceRef>>>
  PieceRef(const F& f)  // implicit: made where a callable is passed
      : object_(&f), call_([](const void* o, int64_t p) { (*static_cast<const F*>(o))(p); }) {}
  void operator()(int64_t piece) const { call_(object_, piece); }

 private:
  const void* object_;
  void (*call_)(const void*, int64_t);
};

// Runs body(p) once for every p in [0, pieces) on up to `threads` threads,
// the calling thread included, and returns when all have finished. The team
// is smaller than asked when the pool grants fewer threads: inside another
// job's piece (nested jobs run inline), while another thread's job holds the
// pool or other native calls are running (calls_in_flight: the threads of
// concurrent calls together stay within num_threads()), beyond the CPUs this
// process may use, in a forked child, and while the machine was recently
// measured busy (contention.hpp). If body throws, the remaining pieces still
// run (or, inline, are skipped) and the first exception is rethrown here.
// While route_openmp_threads is on, the job's pieces run on a loaded
// libgomp's team instead of the pool's workers (openmp_route.hpp), under the
// same rules.
void parallel_for(int64_t pieces, int threads, PieceRef body);

// f(begin, end) over `parts` ranges of [0, n) cut on multiples of `align`
// (split_range), as one job; empty ranges are skipped.
template <class F>
void parallel_ranges(int64_t n, int64_t align, int parts, const F& f) {
  const int64_t units = (n + align - 1) / align;
  const int64_t p = parts < units ? parts : units;
  if (p <= 1) {
    f(int64_t{0}, n);
    return;
  }
  parallel_for(p, static_cast<int>(p), [&](int64_t t) {
    const auto [b, e] = split_range(n, align, t, p);
    if (b < e) f(b, e);
  });
}

// Runs main() on the calling thread and side() on a pool worker at the same
// time, each with num_threads() capped at 1 (work too small to split, beside
// work of another kind: a step's small layers beside the gather of the next
// minibatch). If no worker takes side() before main() returns, the caller
// runs it. Both always run; the first exception of either is rethrown once
// both have finished.
void run_beside(TaskRef main, TaskRef side);

// Runs body(m) for every m in [0, members) with all members running at the
// same time, each on its own thread (the calling thread is member 0): for
// work whose parts wait for one another, such as another library's threaded
// kernels (blas_threads.hpp). Uses the pool when it is free and has the
// workers, else threads started for this call (also in a forked child);
// never shrinks the team, whatever num_threads() or the contention gate say.
// While route_openmp_threads is on, the routed libgomp's team runs it when
// that team will have every member. body must not throw.
void run_team(int members, PieceRef body);

// Counts the native calls running now (the bindings hold one for each call
// while the GIL is released), so that concurrent calls from several Python
// threads share the threads instead of each taking all of them.
class NativeCall {
 public:
  NativeCall();
  ~NativeCall();
  NativeCall(const NativeCall&) = delete;
  NativeCall& operator=(const NativeCall&) = delete;
};
int calls_in_flight();

// What the pool did so far, for tests and the benchmarks' reports.
struct PoolStats {
  int64_t jobs = 0;             // jobs that asked for more than one thread
  int64_t jobs_with_team = 0;   // ... and got workers
  int64_t contended_jobs = 0;   // ... whose tail wait marked contention
  int64_t openmp_jobs = 0;      // ... run on a libgomp team (openmp_route.hpp)
  int64_t backoff_ns = 0;       // the current back-off (0: none)
  int workers = 0;              // worker threads started
  int cpus = 0;                 // CPUs this process may run on
  // The most threads that ran parallel work at the same time (callers of
  // top-level jobs, and workers), since reset_most_threads_at_once.
  int most_threads_at_once = 0;
  // Times a spinning worker moved off the caller's CPU (thread_pool.cpp).
  int64_t worker_moves = 0;
  // Sampled jobs whose caller was off its CPU for a quarter of the job.
  int64_t displaced_jobs = 0;
  // How long a worker last spun for a job before sleeping (spin_budget.hpp).
  int64_t spin_limit_ns = 0;
};
PoolStats pool_stats();

// What a spinning worker on the caller's CPU does (thread_pool.cpp), done by
// the calling thread as if it were both, for tests: whether it moved, the CPU
// before and after, and whether its affinity mask is as it was.
struct WorkerMove {
  bool moved = false;
  int cpu_before = -1;
  int cpu_after = -1;
  bool affinity_kept = true;
};
WorkerMove move_off_callers_cpu_selftest();
void reset_contention();  // forget measured contention (tests)
void reset_most_threads_at_once();

}  // namespace pyfastnn
