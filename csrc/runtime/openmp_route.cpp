#include "runtime/openmp_route.hpp"

#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <cstring>
#include <mutex>

#include "runtime/threads.hpp"

#if defined(__linux__)
#include <dlfcn.h>
#include <link.h>
#endif

namespace pyfastnn {

namespace {

using GompParallel = void (*)(void (*)(void*), void*, unsigned, unsigned);
using OmpGetInt = int (*)();

// The routed library: set while no native call runs (route_openmp_threads),
// read by every routed job.
std::atomic<GompParallel> gomp_parallel{nullptr};
// omp_get_level, omp_get_thread_num, omp_get_num_threads, omp_get_dynamic,
// omp_get_thread_limit of the routed library, set before gomp_parallel.
enum OmpQuery { kLevel, kThreadNum, kNumThreads, kDynamic, kThreadLimit, kQueries };
constexpr const char* kQueryNames[kQueries] = {"omp_get_level", "omp_get_thread_num",
                                               "omp_get_num_threads", "omp_get_dynamic",
                                               "omp_get_thread_limit"};
std::atomic<OmpGetInt> omp_query[kQueries] = {};
std::mutex route_mutex;
std::string routed_path;  // under route_mutex

// The largest team this thread has asked the routed libgomp for. libgomp
// starts its threads from the thread that first needs them, and they inherit
// its signal mask: a call that may start threads blocks every signal first,
// so that signals stay with the threads Python knows (as the pool's workers).
thread_local unsigned largest_team = 1;

#if defined(__linux__)
// The address of `symbol` if the library at `path` (loaded already) defines it
// itself; nullptr otherwise. The library stays loaded while the process runs:
// a routed job may be using it.
void* own_symbol(const char* path, const char* symbol) {
  void* handle = dlopen(path, RTLD_LAZY | RTLD_NOLOAD);
  if (handle == nullptr) return nullptr;
  void* found = dlsym(handle, symbol);
  Dl_info where{};
  if (found == nullptr || dladdr(found, &where) == 0 || where.dli_fname == nullptr ||
      std::strcmp(where.dli_fname, path) != 0) {
    dlclose(handle);
    return nullptr;
  }
  return found;  // the handle's reference is kept
}

int visit(struct dl_phdr_info* info, size_t, void* data) {
  const char* name = info->dlpi_name;
  if (name == nullptr || *name == '\0') return 0;  // the executable itself
  void* handle = dlopen(name, RTLD_LAZY | RTLD_NOLOAD);
  if (handle == nullptr) return 0;
  void* found = dlsym(handle, "GOMP_parallel");
  Dl_info where{};
  if (found != nullptr && dladdr(found, &where) != 0 && where.dli_fname != nullptr &&
      std::strcmp(where.dli_fname, name) == 0)
    static_cast<std::vector<std::string>*>(data)->emplace_back(name);
  dlclose(handle);
  return 0;
}
#endif

}  // namespace

std::vector<std::string> openmp_libraries() {
  std::vector<std::string> found;
#if defined(__linux__)
  dl_iterate_phdr(&visit, &found);
#endif
  return found;
}

bool route_openmp_threads(const std::string& path) {
  const std::lock_guard<std::mutex> lock(route_mutex);
  gomp_parallel.store(nullptr, std::memory_order_release);
  routed_path.clear();
#if defined(__linux__)
  if (path.empty()) return false;
  void* parallel = own_symbol(path.c_str(), "GOMP_parallel");
  void* queries[kQueries];
  for (int q = 0; q < kQueries; ++q) {
    queries[q] = own_symbol(path.c_str(), kQueryNames[q]);
    if (queries[q] == nullptr) return false;
  }
  if (parallel == nullptr) return false;
  for (int q = 0; q < kQueries; ++q)
    omp_query[q].store(reinterpret_cast<OmpGetInt>(queries[q]), std::memory_order_release);
  gomp_parallel.store(reinterpret_cast<GompParallel>(parallel), std::memory_order_release);
  routed_path = path;
  return true;
#else
  (void)path;
  return false;
#endif
}

std::string openmp_threads_routed() {
  const std::lock_guard<std::mutex> lock(route_mutex);
  return routed_path;
}

namespace {
int query(OmpQuery q) { return omp_query[q].load(std::memory_order_acquire)(); }

void run_team_of(GompParallel parallel, int team, void (*member)(void*), void* data) {
  const auto n = static_cast<unsigned>(team);
  if (n <= largest_team) {
    parallel(member, data, n, 0);
    return;
  }
  sigset_t all, previous;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &previous);
  parallel(member, data, n, 0);
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  largest_team = n;
}
}  // namespace

bool run_on_openmp_team(int team, void (*member)(void*), void* data) {
  const GompParallel parallel = gomp_parallel.load(std::memory_order_acquire);
  if (parallel == nullptr || team < 2 || in_forked_child() || query(kLevel) > 0) return false;
  run_team_of(parallel, team, member, data);
  return true;
}

bool run_on_full_openmp_team(int team, void (*member)(void*), void* data) {
  const GompParallel parallel = gomp_parallel.load(std::memory_order_acquire);
  if (parallel == nullptr || team < 2 || in_forked_child() || query(kLevel) > 0 ||
      query(kDynamic) != 0 || query(kThreadLimit) < team)
    return false;
  run_team_of(parallel, team, member, data);
  return true;
}

int openmp_thread_num() { return query(kThreadNum); }
int openmp_team_size() { return query(kNumThreads); }

}  // namespace pyfastnn
