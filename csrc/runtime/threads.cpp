#include "runtime/threads.hpp"

#include <omp.h>

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
}  // namespace

bool adaptive_threads() { return adaptive.load(std::memory_order_relaxed); }

void set_adaptive_threads(bool enabled) { adaptive.store(enabled, std::memory_order_relaxed); }

int num_threads() {
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
