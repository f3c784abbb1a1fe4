#include "runtime/threads.hpp"

#include <pthread.h>
#include <sched.h>

#include <atomic>
#include <cstdlib>
#include <stdexcept>
#include <thread>

namespace pyfastnn {

namespace {
// OMP_NUM_THREADS keeps its meaning for this module (users and job runners
// such as joblib set it to share the cores between processes): its first
// entry, if it is a positive integer.
int initial_threads() {
  if (const char* env = std::getenv("OMP_NUM_THREADS")) {
    char* end = nullptr;
    const long n = std::strtol(env, &end, 10);
    if (end != env && n >= 1 && (*end == '\0' || *end == ','))
      return static_cast<int>(n < kMaxThreads ? n : kMaxThreads);
  }
  return usable_cpus();
}

std::atomic<int>& thread_slot() {
  static std::atomic<int> slot{initial_threads()};
  return slot;
}
thread_local int calling_thread_limit = kMaxThreads;
std::atomic<bool> adaptive{true};

// Set in the child of a fork(): the pool's worker threads were not copied
// (with libgomp, before this pool, the child's first parallel region waited
// for them forever: 5/5 children hung). The child runs every job on its one
// thread: same bits, since no result depends on the count.
std::atomic<bool> forked_child{false};
const bool fork_handler_installed = [] {
  return pthread_atfork(nullptr, nullptr, [] { forked_child.store(true); }) == 0;
}();
}  // namespace

int usable_cpus() {
#if defined(__linux__)
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0) return CPU_COUNT(&set);
#endif
  const unsigned n = std::thread::hardware_concurrency();
  return n > 0 ? static_cast<int>(n) : 1;
}

bool in_forked_child() { return forked_child.load(std::memory_order_relaxed); }

bool adaptive_threads() { return adaptive.load(std::memory_order_relaxed); }

void set_adaptive_threads(bool enabled) { adaptive.store(enabled, std::memory_order_relaxed); }

int num_threads() {
  if (in_forked_child()) return 1;
  const int n = thread_slot().load(std::memory_order_relaxed);
  return n < calling_thread_limit ? n : calling_thread_limit;
}

int process_threads() {
  if (in_forked_child()) return 1;
  return thread_slot().load(std::memory_order_relaxed);
}

ScopedThreadLimit::ScopedThreadLimit(int limit) : previous_(calling_thread_limit) {
  if (limit < calling_thread_limit) calling_thread_limit = limit < 1 ? 1 : limit;
}

ScopedThreadLimit::~ScopedThreadLimit() { calling_thread_limit = previous_; }

void set_num_threads(int n) {
  if (n < 1) throw std::invalid_argument("num_threads must be >= 1");
  thread_slot().store(n, std::memory_order_relaxed);
}

}  // namespace pyfastnn
