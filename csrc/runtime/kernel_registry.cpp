#include "runtime/kernel_registry.hpp"

#include <cstdlib>
#include <mutex>
#include <stdexcept>

namespace pyfastnn {

namespace {

struct Enrolled {
  KernelFamily* family;
  Isa isa;  // of the kernels it uses
};

struct Registry {
  std::mutex mutex;
  std::atomic<Isa> isa{Isa::portable};
  EnvironmentProblem environment_problem;
  std::vector<Enrolled> families;  // in enrolment order

  Registry() {
    isa.store(best_isa());
    const char* env = std::getenv("PYFASTNN_KERNEL");
    if (env == nullptr) return;
    std::string_view name = env;
    const std::string var = std::string("PYFASTNN_KERNEL='") + env + "'";
    const std::string fallback =
        std::string("; using the automatic choice '") + isa_name(best_isa()) + "'";
    if (name == "avx2_fma") {  // the former name of avx2
      environment_problem = {true, var + " is deprecated: use 'avx2'"};
      name = "avx2";
    }
    const std::optional<Isa> asked = parse_isa(name);
    if (!asked)
      environment_problem = {false, var + " is not one of " + isa_names_accepted() + fallback};
    else if (!cpu_supports(*asked))
      environment_problem = {false, var + ": this CPU cannot run it" + fallback};
    else
      isa.store(*asked);
  }
};

// Built on first use: the tables enroll from static initialisers of other files.
Registry& registry() {
  static Registry r;
  return r;
}

}  // namespace

Isa active_isa() { return registry().isa.load(std::memory_order_relaxed); }

void select_isa(Isa isa) {
  if (!cpu_supports(isa))
    throw std::invalid_argument(std::string("this CPU cannot run the '") + isa_name(isa) +
                                "' kernels");
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  for (Enrolled& e : r.families) e.isa = e.family->install(isa);
  r.isa.store(isa, std::memory_order_relaxed);
}

EnvironmentProblem kernel_environment_problem() { return registry().environment_problem; }

std::vector<KernelChoice> active_kernels() {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  std::vector<KernelChoice> out;
  for (const Enrolled& e : r.families) out.push_back({e.family->name, e.family->dtype, e.isa});
  return out;
}

void KernelFamily::enroll() {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  r.families.push_back({this, install(r.isa.load(std::memory_order_relaxed))});
}

}  // namespace pyfastnn
