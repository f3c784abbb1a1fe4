#include "runtime/blas_threads.hpp"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

#include "runtime/clock.hpp"
#include "runtime/parallel.hpp"

#if defined(__linux__)
#include <dlfcn.h>
#include <link.h>
#endif

namespace pyfastnn {

namespace {

// OpenBLAS's interface for caller-managed threads (its cblas.h): the caller
// runs dojob(i, jobdata + i * elsize, dojob_data) for i in [0, numjobs), all
// at once when sync is set (its level-3 kernels wait for one another).
using DoJob = void (*)(int thread_num, void* jobdata, int dojob_data);
using ThreadsCallback = void (*)(int sync, DoJob dojob, int numjobs, size_t jobdata_elsize,
                                 void* jobdata, int dojob_data);
using SetThreadsCallback = void (*)(ThreadsCallback);

// The setter's name in upstream OpenBLAS and in the scipy-openblas wheels
// that NumPy and SciPy bundle (64-bit and 32-bit integer builds).
constexpr const char* kSetterNames[] = {
    "openblas_set_threads_callback_function",
    "scipy_openblas_set_threads_callback_function64_",
    "scipy_openblas_set_threads_callback_function",
};

// The setters of the libraries routed by route_blas_threads(true).
constexpr int kMaxLibraries = 8;
std::mutex setters_mutex;
SetThreadsCallback setters[kMaxLibraries] = {};
int setter_count = 0;                // under setters_mutex
std::atomic<bool> wanted{false};     // route_blas_threads(true) is in effect
std::atomic<int64_t> late_teams{0};
// Libraries loaded later (SciPy's OpenBLAS, imported after pyfastnn): native
// calls look at the loader's count of loaded objects at most every
// kLookEveryNs, and route the OpenBLAS libraries again when it changed.
constexpr int64_t kLookEveryNs = 100'000'000;
std::atomic<int64_t> next_look_ns{0};
unsigned long long seen_adds = 0;  // under setters_mutex

// One OpenBLAS team at a time: a routed job finds its per-thread buffers by
// the member's number (thread_num), so two teams of concurrent calls would
// share them (NumPy products from two Python threads came out wrong: 11242
// of 16384 elements, tests/test_matmul.py). OpenBLAS's own server hands each
// of its threads to one call at a time likewise.
std::mutex team_mutex;

// A member that starts this long after the call is late: the machine did not
// run a pool worker in time (a futex wake-up takes 10-60 us on the 2-vCPU VM;
// a worker queued behind another process's thread waited for the scheduler's
// tick, 4 ms). Counted (blas_late_teams), for the benchmarks' reports.
constexpr int64_t kLateMemberNs = 500'000;

void run_openblas_jobs(int /*sync*/, DoJob dojob, int numjobs, size_t elsize, void* jobdata,
                       int dojob_data) {
  char* const base = static_cast<char*>(jobdata);
  const std::lock_guard<std::mutex> one_team(team_mutex);
  const int64_t start = now_ns();
  std::atomic<int64_t> latest{0};
  // Run as a team even when sync is 0: it costs nothing more here, and
  // OpenBLAS's own server runs them at once too.
  run_team(numjobs, [&](int64_t i) {
    if (i > 0) {
      const int64_t lag = now_ns() - start;
      int64_t l = latest.load(std::memory_order_relaxed);
      while (lag > l && !latest.compare_exchange_weak(l, lag, std::memory_order_relaxed)) {
      }
    }
    dojob(static_cast<int>(i), base + static_cast<size_t>(i) * elsize, dojob_data);
  });
  if (latest.load(std::memory_order_relaxed) > kLateMemberNs)
    late_teams.fetch_add(1, std::memory_order_relaxed);
}

#if defined(__linux__)
// The loader's count of objects loaded so far (read from the first object).
int read_adds(struct dl_phdr_info* info, size_t size, void* data) {
  if (size >= offsetof(struct dl_phdr_info, dlpi_adds) + sizeof(info->dlpi_adds))
    *static_cast<unsigned long long*>(data) = info->dlpi_adds;
  return 1;
}

unsigned long long loaded_objects() {
  unsigned long long adds = 0;
  dl_iterate_phdr(&read_adds, &adds);
  return adds;
}

struct Search {
  bool on;
  std::vector<std::string> changed;
};

int visit(struct dl_phdr_info* info, size_t, void* data) {
  auto* search = static_cast<Search*>(data);
  const char* name = info->dlpi_name;
  if (name == nullptr || *name == '\0') return 0;  // the executable itself
  void* handle = dlopen(name, RTLD_LAZY | RTLD_NOLOAD);
  if (handle == nullptr) return 0;
  for (const char* setter_name : kSetterNames) {
    // dlsym on a handle finds the symbol in that library or its dependencies:
    // only a definition inside this very library counts.
    void* symbol = dlsym(handle, setter_name);
    Dl_info where{};
    if (symbol == nullptr || dladdr(symbol, &where) == 0 || where.dli_fname == nullptr ||
        std::strcmp(where.dli_fname, name) != 0)
      continue;
    const auto setter = reinterpret_cast<SetThreadsCallback>(symbol);
    setter(search->on ? &run_openblas_jobs : nullptr);
    if (search->on && setter_count < kMaxLibraries) setters[setter_count++] = setter;
    search->changed.emplace_back(name);
    break;
  }
  dlclose(handle);
  return 0;
}

// Finds the OpenBLAS libraries loaded now and sets their hook (on) or clears
// it; remembers their setters and the loader's count. Under setters_mutex.
std::vector<std::string> route_locked(bool on) {
  seen_adds = loaded_objects();
  setter_count = 0;
  Search search{on, {}};
  dl_iterate_phdr(&visit, &search);
  wanted.store(on && setter_count > 0, std::memory_order_relaxed);
  return search.changed;
}
#endif

}  // namespace

std::vector<std::string> route_blas_threads(bool on) {
#if defined(__linux__)
  const std::lock_guard<std::mutex> lock(setters_mutex);
  return route_locked(on);
#else
  (void)on;
  return {};
#endif
}

void route_new_blas_libraries(int64_t now_ns) {
#if defined(__linux__)
  if (now_ns < next_look_ns.load(std::memory_order_relaxed) || in_forked_child()) return;
  next_look_ns.store(now_ns + kLookEveryNs, std::memory_order_relaxed);
  if (!wanted.load(std::memory_order_relaxed)) return;
  const unsigned long long adds = loaded_objects();
  const std::lock_guard<std::mutex> lock(setters_mutex);
  if (adds == seen_adds || !wanted.load(std::memory_order_relaxed)) return;
  route_locked(true);
#else
  (void)now_ns;
#endif
}

std::vector<std::string> blas_routed_libraries() {
  std::vector<std::string> paths;
#if defined(__linux__)
  const std::lock_guard<std::mutex> lock(setters_mutex);
  if (!wanted.load(std::memory_order_relaxed)) return paths;
  for (int i = 0; i < setter_count; ++i) {
    Dl_info where{};
    if (dladdr(reinterpret_cast<void*>(setters[i]), &where) != 0 && where.dli_fname != nullptr)
      paths.emplace_back(where.dli_fname);
  }
#endif
  return paths;
}

bool blas_threads_routed() { return wanted.load(std::memory_order_relaxed); }

int64_t blas_late_teams() { return late_teams.load(std::memory_order_relaxed); }

}  // namespace pyfastnn
