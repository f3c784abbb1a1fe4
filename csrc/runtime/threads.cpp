#include "runtime/threads.hpp"

#include <omp.h>
#include <pthread.h>

#include <atomic>
#include <exception>
#include <stdexcept>

namespace pyfastnn {

namespace {
std::atomic<int>& thread_slot() {
  static std::atomic<int> slot{omp_get_max_threads() > 0 ? omp_get_max_threads() : 1};
  return slot;
}
thread_local int calling_thread_limit = kMaxThreads;
std::atomic<bool> adaptive{true};

// Set in the child of a fork(): the OpenMP runtime's worker threads were not
// copied, and libgomp waits for them forever in the child's first team of two
// or more (measured: 5/5 children hung after one multi-threaded call in the
// parent). A team of one runs inline on the calling thread, so the child runs
// every region on one thread: same bits, since no result depends on the count.
std::atomic<bool> forked_child{false};
const bool fork_handler_installed = [] {
  return pthread_atfork(nullptr, nullptr, [] { forked_child.store(true); }) == 0;
}();
}  // namespace

bool in_forked_child() { return forked_child.load(std::memory_order_relaxed); }

bool adaptive_threads() { return adaptive.load(std::memory_order_relaxed); }

void set_adaptive_threads(bool enabled) { adaptive.store(enabled, std::memory_order_relaxed); }

int num_threads() {
  if (in_forked_child()) return 1;
  const int n = thread_slot().load(std::memory_order_relaxed);
  return n < calling_thread_limit ? n : calling_thread_limit;
}

ScopedThreadLimit::ScopedThreadLimit(int limit) : previous_(calling_thread_limit) {
  if (limit < calling_thread_limit) calling_thread_limit = limit < 1 ? 1 : limit;
}

ScopedThreadLimit::~ScopedThreadLimit() { calling_thread_limit = previous_; }

void set_num_threads(int n) {
  if (n < 1) throw std::invalid_argument("num_threads must be >= 1");
  thread_slot().store(n, std::memory_order_relaxed);
}

void run_beside(TaskRef main, TaskRef side) {
  std::exception_ptr failure[2];
  const auto run = [&](int which) {
    const ScopedThreadLimit one(1);
    try {
      (which == 0 ? main : side)();
    } catch (...) {
      failure[which] = std::current_exception();
    }
  };
#pragma omp parallel num_threads(num_threads() > 1 ? 2 : 1)
  {
    if (omp_get_thread_num() == 1) {
      run(1);
    } else {
      run(0);
      if (omp_get_num_threads() == 1) run(1);
    }
  }
  for (const std::exception_ptr& f : failure)
    if (f) std::rethrow_exception(f);
}

}  // namespace pyfastnn
