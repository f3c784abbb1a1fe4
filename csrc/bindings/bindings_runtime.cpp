// Bindings of the parallel runtime: thread count, the pool's statistics,
// and its policies (ThreadGovernor and the GovernorBlocks it is fed,
// ContentionGate, SpinBudget) exposed so that tests can drive them with
// made-up times; the C entry points threadpoolctl uses.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "bindings/released_gil.hpp"
#include "runtime/blas_threads.hpp"
#include "runtime/contention.hpp"
#include "runtime/openmp_route.hpp"
#include "runtime/output_buffers.hpp"
#include "runtime/parallel.hpp"
#include "runtime/spin_budget.hpp"
#include "runtime/thread_governor.hpp"
#include "runtime/threads.hpp"

namespace py = pybind11;
using namespace pyfastnn;

namespace {

void check_thread_count(int64_t n, const char* name) {
  if (n < 1 || n > kMaxThreads)
    throw py::value_error(std::string(name) + ": expected a thread count in [1, " +
                          std::to_string(kMaxThreads) + "], got " + std::to_string(n));
}

void check_duration(int64_t ns, const char* name) {
  if (ns < 0) throw py::value_error(std::string(name) + ": expected a duration >= 0 ns");
}

// Runs one job of `pieces` pieces on up to `threads` threads; each piece
// spins for spin_ns, counts its runs and notes whether a worker ran it; piece
// fail_piece (if >= 0) throws. Returns (runs per piece, pieces run off the
// calling thread). For tests of the pool's guarantees.
py::tuple pool_selftest(int64_t pieces, int64_t threads, int64_t spin_ns, int64_t fail_piece) {
  if (pieces < 0 || pieces > (int64_t(1) << 20))
    throw py::value_error("pieces: expected 0 <= pieces <= 2**20, got " + std::to_string(pieces));
  check_thread_count(threads, "threads");
  check_duration(spin_ns, "spin_ns");
  std::vector<std::atomic<int>> runs(static_cast<size_t>(pieces));
  std::atomic<int64_t> elsewhere{0};
  {
    ReleasedGil nogil;
    const std::thread::id caller = std::this_thread::get_id();
    parallel_for(pieces, static_cast<int>(threads), [&](int64_t p) {
      const auto start = std::chrono::steady_clock::now();
      while (std::chrono::steady_clock::now() - start < std::chrono::nanoseconds(spin_ns)) {
      }
      runs[size_t(p)].fetch_add(1);
      if (std::this_thread::get_id() != caller) elsewhere.fetch_add(1);
      if (p == fail_piece) throw std::runtime_error("piece " + std::to_string(p) + " failed");
    });
  }
  py::list counts;
  for (const auto& r : runs) counts.append(r.load());
  return py::make_tuple(counts, elsewhere.load());
}

// Runs one team of `members` that wait for one another (each arrives, then
// waits until all have arrived, up to timeout_ns). Returns how many saw all
// arrive: members when run_team ran them at once. For tests.
int64_t team_selftest(int64_t members, int64_t timeout_ns) {
  check_thread_count(members, "members");
  check_duration(timeout_ns, "timeout_ns");
  std::atomic<int64_t> arrived{0}, met{0};
  ReleasedGil nogil;
  run_team(static_cast<int>(members), [&](int64_t) {
    arrived.fetch_add(1);
    const auto start = std::chrono::steady_clock::now();
    while (arrived.load() < members) {
      if (std::chrono::steady_clock::now() - start > std::chrono::nanoseconds(timeout_ns)) return;
      std::this_thread::yield();
    }
    met.fetch_add(1);
  });
  return met.load();
}

}  // namespace

// An uninitialised C-contiguous array of `shape` and a numeric native-order
// `dtype`. At OutputBuffers::kMinBytes or more its memory comes from the kept
// output buffers (runtime/output_buffers.hpp) and goes back there when the
// array is freed; below, it is NumPy's own.
py::array output_array(const std::vector<int64_t>& shape, const py::dtype& dtype) {
  if (std::string("biufc").find(dtype.kind()) == std::string::npos ||
      dtype.byteorder() == '>' || dtype.byteorder() == '<')
    throw py::type_error("dtype: expected a numeric dtype in native byte order, got " +
                         py::str(dtype).cast<std::string>());
  size_t bytes = static_cast<size_t>(dtype.itemsize());
  std::vector<py::ssize_t> dims;
  for (const int64_t d : shape) {
    if (d < 0) throw py::value_error("shape: expected sizes >= 0, got " + std::to_string(d));
    if (d > 0 && bytes > static_cast<size_t>(PTRDIFF_MAX) / static_cast<size_t>(d))
      throw py::value_error("shape: the array would not fit in memory");
    bytes *= static_cast<size_t>(d);
    dims.push_back(static_cast<py::ssize_t>(d));
  }
  if (bytes < OutputBuffers::kMinBytes) return py::array(dtype, dims);
  struct Held {
    void* buffer;
    size_t bytes;
  };
  void* const buffer = take_output_buffer(bytes);
  if (buffer == nullptr) throw std::bad_alloc();
  Held* held = nullptr;
  try {
    held = new Held{buffer, bytes};
  } catch (...) {
    give_output_buffer(buffer, bytes);
    throw;
  }
  const py::capsule owner(held, [](void* h) {
    const Held* const x = static_cast<Held*>(h);
    give_output_buffer(x->buffer, x->bytes);
    delete x;
  });
  return py::array(dtype, dims, buffer, owner);
}

void bind_runtime(py::module_& m) {
  m.def("num_threads", &num_threads);
  m.def("set_num_threads", [](int64_t n) {
    check_thread_count(n, "n");
    set_num_threads(static_cast<int>(n));
  });
  m.attr("MAX_THREADS") = kMaxThreads;
  m.def("adaptive_threads", &adaptive_threads);
  m.def("set_adaptive_threads", &set_adaptive_threads, py::arg("enabled").noconvert());
  m.def("pool_stats", [] {
    const PoolStats s = pool_stats();
    py::dict d;
    d["jobs"] = s.jobs;
    d["jobs_with_team"] = s.jobs_with_team;
    d["contended_jobs"] = s.contended_jobs;
    d["openmp_jobs"] = s.openmp_jobs;
    d["backoff_ns"] = s.backoff_ns;
    d["workers"] = s.workers;
    d["cpus"] = s.cpus;
    d["most_threads_at_once"] = s.most_threads_at_once;
    d["worker_moves"] = s.worker_moves;
    d["displaced_jobs"] = s.displaced_jobs;
    d["spin_limit_ns"] = s.spin_limit_ns;
    d["calls_in_flight"] = calls_in_flight();
    d["blas_late_teams"] = blas_late_teams();
    return d;
  });
  m.def("output_array", &output_array, py::arg("shape"), py::arg("dtype"));
  m.def("release_output_buffers", &release_output_buffers);
  m.def("output_buffer_stats", [] {
    const OutputBufferStats s = output_buffer_stats();
    py::dict d;
    d["kept"] = s.kept;
    d["kept_bytes"] = s.kept_bytes;
    d["reused"] = s.reused;
    d["allocated"] = s.allocated;
    d["min_bytes"] = OutputBuffers::kMinBytes;
    d["max_kept"] = OutputBuffers::kMaxKept;
    d["max_kept_bytes"] = OutputBuffers::kMaxKeptBytes;
    return d;
  });
  m.def("reset_contention", &reset_contention);
  m.def("reset_most_threads_at_once", &reset_most_threads_at_once);
  m.def("team_selftest", &team_selftest, py::arg("members"), py::arg("timeout_ns"));
  m.def("move_off_callers_cpu_selftest", [] {
    const WorkerMove r = move_off_callers_cpu_selftest();
    return py::make_tuple(r.moved, r.cpu_before, r.cpu_after, r.affinity_kept);
  });
  m.def(
      "route_blas_threads",
      [](bool on) {
        std::vector<std::string> changed;
        {
          ReleasedGil nogil;
          changed = route_blas_threads(on);
        }
        return changed;
      },
      py::arg("on").noconvert());
  m.def("blas_threads_routed", &blas_threads_routed);
  m.def("blas_routed_libraries", &blas_routed_libraries);
  m.def("openmp_libraries", [] {
    ReleasedGil nogil;
    return openmp_libraries();
  });
  m.def(
      "route_openmp_threads",
      [](const std::string& path) {
        ReleasedGil nogil;
        return route_openmp_threads(path);
      },
      py::arg("path"));
  m.def("openmp_threads_routed", &openmp_threads_routed);
  m.def("pool_selftest", &pool_selftest, py::arg("pieces"), py::arg("threads"),
        py::arg("spin_ns") = 0, py::arg("fail_piece") = -1);

  // The training loop's thread-count policy, exposed so tests can drive it
  // with made-up step times.
  py::class_<ThreadGovernor>(m, "ThreadGovernor")
      .def(py::init<>())
      .def(
          "configure",
          [](ThreadGovernor& g, int64_t max_threads, int64_t key) {
            check_thread_count(max_threads, "max_threads");
            g.configure(static_cast<int>(max_threads), key);
          },
          py::arg("max_threads"), py::arg("key"))
      .def("choose", &ThreadGovernor::choose)
      .def(
          "record",
          [](ThreadGovernor& g, int threads, double seconds) {
            if (!(seconds >= 0) || std::isinf(seconds))
              throw py::value_error("seconds: expected a finite duration >= 0");
            g.record(threads, seconds);
          },
          py::arg("threads"), py::arg("seconds"))
      .def_property_readonly("best", &ThreadGovernor::best);

  // The blocks of steps an epoch loop feeds its governor, for tests.
  py::class_<GovernorBlocks>(m, "GovernorBlocks")
      .def(py::init<>())
      .def("choose", &GovernorBlocks::choose, py::arg("governor"))
      .def(
          "record",
          [](GovernorBlocks& b, ThreadGovernor& g, double seconds, bool counted) {
            if (!(seconds >= 0) || std::isinf(seconds))
              throw py::value_error("seconds: expected a finite duration >= 0");
            b.record(g, seconds, counted);
          },
          py::arg("governor"), py::arg("seconds"), py::arg("counted") = true)
      .def_readonly_static("STEPS_PER_SAMPLE", &GovernorBlocks::kStepsPerSample);

  // The pool's contention policy (runtime/contention.hpp), a fresh instance
  // for tests; the pool's own is process-wide.
  py::class_<ContentionGate>(m, "ContentionGate")
      .def(py::init<>())
      .def(
          "allow_team",
          [](const ContentionGate& g, int64_t now_ns) { return g.allow_team(now_ns); },
          py::arg("now_ns"))
      .def(
          "record",
          [](ContentionGate& g, int64_t now_ns, int64_t wait_ns, int64_t own_piece_ns,
             int64_t worker_piece_ns) {
            check_duration(wait_ns, "wait_ns");
            check_duration(own_piece_ns, "own_piece_ns");
            check_duration(worker_piece_ns, "worker_piece_ns");
            g.record(now_ns, wait_ns, own_piece_ns, worker_piece_ns);
          },
          py::arg("now_ns"), py::arg("wait_ns"), py::arg("own_piece_ns"),
          py::arg("worker_piece_ns"))
      .def(
          "record_caller",
          [](ContentionGate& g, int64_t now_ns, int64_t wall_ns, int64_t cpu_ns) {
            check_duration(wall_ns, "wall_ns");
            check_duration(cpu_ns, "cpu_ns");
            g.record_caller(now_ns, wall_ns, cpu_ns);
          },
          py::arg("now_ns"), py::arg("wall_ns"), py::arg("cpu_ns"))
      .def(
          "caller_displaced_recently",
          [](const ContentionGate& g, int64_t now_ns) {
            return g.caller_displaced_recently(now_ns);
          },
          py::arg("now_ns"))
      .def_property_readonly("displaced_jobs", &ContentionGate::displaced_jobs)
      .def_readonly_static("POLITE_NS", &ContentionGate::kPoliteNs)
      .def_property_readonly("backoff_ns", &ContentionGate::backoff_ns)
      .def_property_readonly("contended_jobs", &ContentionGate::contended_jobs)
      .def_readonly_static("MIN_WAIT_NS", &ContentionGate::kMinWaitNs)
      .def_readonly_static("SLOW_PIECE", &ContentionGate::kSlowPiece)
      .def_readonly_static("RECENT", &ContentionGate::kRecent)
      .def_readonly_static("CONTENDED_OF_RECENT", &ContentionGate::kContendedOfRecent)
      .def_readonly_static("FIRST_BACKOFF_NS", &ContentionGate::kFirstBackoffNs)
      .def_readonly_static("MAX_BACKOFF_NS", &ContentionGate::kMaxBackoffNs);

  // How long a pool worker spins for its next job (runtime/spin_budget.hpp),
  // a fresh instance for tests; each worker keeps its own.
  py::class_<SpinBudget>(m, "SpinBudget")
      .def(py::init<>())
      .def(
          "record",
          [](SpinBudget& b, int64_t gap_ns) {
            check_duration(gap_ns, "gap_ns");
            b.record(gap_ns);
          },
          py::arg("gap_ns"))
      .def_property_readonly("limit_ns", &SpinBudget::limit_ns)
      .def_readonly_static("MIN_NS", &SpinBudget::kMinNs)
      .def_readonly_static("MAX_NS", &SpinBudget::kMaxNs)
      .def_readonly_static("RECENT", &SpinBudget::kRecent)
      .def_readonly_static("COVER", &SpinBudget::kCover);
}

// The C entry points of threadpoolctl's controller (pyfastnn/_threadpoolctl.py):
// it finds this library among the loaded ones by these symbols and reads and
// sets the thread count through them, as it does for OpenMP and BLAS.
extern "C" __attribute__((visibility("default"))) int pyfastnn_get_num_threads() {
  return num_threads();
}
extern "C" __attribute__((visibility("default"))) void pyfastnn_set_num_threads(int n) {
  if (n >= 1) set_num_threads(n < kMaxThreads ? n : kMaxThreads);
}
