// Thread count used by every parallel job of the module (parallel.hpp).
//
// Kept in one process-wide value so that a count set from one Python thread
// holds for calls made from any other.
#pragma once

#include <algorithm>
#include <cstdint>
#include <type_traits>
#include <utility>

namespace pyfastnn {

// Part t of `parts` of [0, n), cut on multiples of `align`: [begin, end),
// possibly empty. Every parallel split of rows or columns uses it, so the
// same n, align and parts always give the same ranges.
inline std::pair<int64_t, int64_t> split_range(int64_t n, int64_t align, int64_t t,
                                               int64_t parts) {
  const int64_t units = (n + align - 1) / align;
  return {std::min(n, t * units / parts * align), std::min(n, (t + 1) * units / parts * align)};
}

// Initialised from OMP_NUM_THREADS if set (its first entry), else the number
// of CPUs this process may run on; lowered on the calling thread while a
// ScopedThreadLimit lives there; 1 in the child of a fork() (in_forked_child),
// whatever set_num_threads says.
int num_threads();

// The process-wide count (set_num_threads, OMP_NUM_THREADS), without the
// calling thread's ScopedThreadLimit; 1 in a forked child.
int process_threads();

// The CPUs this process may run on (its affinity mask; else the hardware's).
int usable_cpus();

// True in a process made by fork() from one that had loaded the module: its
// pool's worker threads did not survive the fork, so its jobs use one thread.
bool in_forked_child();
constexpr int kMaxThreads = 4096;  // a sanity bound on set_num_threads
void set_num_threads(int n);  // n >= 1

// Whether training epochs may run a step on fewer than num_threads() threads
// when that measures faster (thread_governor.hpp). Process-wide; default true.
bool adaptive_threads();
void set_adaptive_threads(bool enabled);

// Caps num_threads() for the calling thread (and the parallel jobs it
// starts) during its lifetime, e.g. to run work too fine-grained to split.
class ScopedThreadLimit {
 public:
  explicit ScopedThreadLimit(int limit);
  ~ScopedThreadLimit();
  ScopedThreadLimit(const ScopedThreadLimit&) = delete;
  ScopedThreadLimit& operator=(const ScopedThreadLimit&) = delete;

 private:
  int previous_;
};

// A non-owning reference to a callable taking no arguments (a lambda that
// outlives the call it is passed to): unlike std::function, no allocation,
// so one can be made per training step.
class TaskRef {
 public:
  template <class F, class = std::enable_if_t<!std::is_same_v<std::decay_t<F>, TaskRef>>>
  TaskRef(const F& f)  // implicit: made where a callable is passed
      : object_(&f), call_([](const void* o) { (*static_cast<const F*>(o))(); }) {}
  void operator()() const { call_(object_); }

 private:
  const void* object_;
  void (*call_)(const void*);
};

}  // namespace pyfastnn
