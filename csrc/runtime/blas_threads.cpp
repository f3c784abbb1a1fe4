#include "runtime/blas_threads.hpp"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <mutex>

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

std::atomic<int> routed{0};

// One OpenBLAS team at a time: a routed job finds its per-thread buffers by
// the member's number (thread_num), so two teams of concurrent calls would
// share them (NumPy products from two Python threads came out wrong: 11242
// of 16384 elements, tests/test_matmul.py). OpenBLAS's own server hands each
// of its threads to one call at a time likewise.
std::mutex team_mutex;

void run_openblas_jobs(int /*sync*/, DoJob dojob, int numjobs, size_t elsize, void* jobdata,
                       int dojob_data) {
  char* const base = static_cast<char*>(jobdata);
  const std::lock_guard<std::mutex> one_team(team_mutex);
  // Run as a team even when sync is 0: it costs nothing more here, and
  // OpenBLAS's own server runs them at once too.
  run_team(numjobs, [&](int64_t i) {
    dojob(static_cast<int>(i), base + static_cast<size_t>(i) * elsize, dojob_data);
  });
}

#if defined(__linux__)
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
    reinterpret_cast<SetThreadsCallback>(symbol)(search->on ? &run_openblas_jobs : nullptr);
    search->changed.emplace_back(name);
    break;
  }
  dlclose(handle);
  return 0;
}
#endif

}  // namespace

std::vector<std::string> route_blas_threads(bool on) {
#if defined(__linux__)
  Search search{on, {}};
  dl_iterate_phdr(&visit, &search);
  routed.store(on ? static_cast<int>(search.changed.size()) : 0, std::memory_order_relaxed);
  return search.changed;
#else
  (void)on;
  return {};
#endif
}

bool blas_threads_routed() { return routed.load(std::memory_order_relaxed) > 0; }

}  // namespace pyfastnn
