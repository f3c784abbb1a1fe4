#include "threads.hpp"

#include <omp.h>

#include <atomic>
#include <stdexcept>

namespace pyfastnn {

namespace {
std::atomic<int>& thread_slot() {
  static std::atomic<int> slot{omp_get_max_threads() > 0 ? omp_get_max_threads() : 1};
  return slot;
}
}  // namespace

int num_threads() { return thread_slot().load(std::memory_order_relaxed); }

void set_num_threads(int n) {
  if (n < 1) throw std::invalid_argument("num_threads must be >= 1");
  thread_slot().store(n, std::memory_order_relaxed);
}

}  // namespace pyfastnn
