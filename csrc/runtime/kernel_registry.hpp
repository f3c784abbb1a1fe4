// The kernel registry: one table per kernel family and dtype, filled once
// when the instruction set (ISA) is chosen.
//
// Design (as BLIS's config/ registers kernels into a context):
// - a family declares its table type where its types live (gemm/gemm_kernel.hpp
//   KernelSet<T>, simplex/simplex_rows.hpp, nn/losses.cpp, nn/kernels/optim_table.hpp)
//   and owns one KernelTable<Table> per dtype: one maker per ISA, null where the
//   family has no kernels of its own (the next lower ISA's serve);
// - the KernelTable enrolls itself here when the module loads; the registry of a
//   dtype is the set of tables enrolled for it (kernel_info() lists them);
// - select_isa() is the one moment of choice, at load (PYFASTNN_KERNEL) and from
//   pyfastnn.set_kernel: it points every table at its kernels for that ISA; a
//   table is built once per ISA and never rewritten, so a call running meanwhile
//   reads a whole table, old or new;
// - call sites read their table (one load) and never branch on the ISA.
#pragma once

#include <atomic>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "runtime/cpu.hpp"

namespace pyfastnn {

// The ISA chosen. At load: PYFASTNN_KERNEL (see parse_isa), "auto" when unset,
// unknown, or naming an ISA the CPU cannot run (kernel_environment_problem()
// then says what was wrong).
Isa active_isa();

// Chooses `isa` for every family. Throws std::invalid_argument if the CPU
// cannot run it.
void select_isa(Isa isa);

// What was wrong with PYFASTNN_KERNEL at load (message empty: nothing): a
// former name (deprecated; still used) or a name the registry cannot use.
// pyfastnn/_runtime.py turns it into a DeprecationWarning / RuntimeWarning.
struct EnvironmentProblem {
  bool deprecated = false;
  std::string message;
};
EnvironmentProblem kernel_environment_problem();

// The kernels one family uses for one dtype (e.g. "gemm", "float32", avx512).
struct KernelChoice {
  std::string family, dtype;
  Isa isa;
};
std::vector<KernelChoice> active_kernels();

// A family's kernels for one dtype, as the registry sees them.
class KernelFamily {
 public:
  KernelFamily(const KernelFamily&) = delete;
  KernelFamily& operator=(const KernelFamily&) = delete;

  const char* const name;   // "gemm", "simplex_maps", ...
  const char* const dtype;  // "float32" or "float64"

  // Points the family at its kernels for `isa` (one the CPU runs); returns the
  // ISA of the kernels now in use (`isa` or, if the family has none, a lower one).
  virtual Isa install(Isa isa) = 0;

 protected:
  KernelFamily(const char* name_, const char* dtype_) : name(name_), dtype(dtype_) {}
  ~KernelFamily() = default;
  // Adds the family to the registry and installs the active ISA's kernels
  // (called by the derived constructor, once it is complete).
  void enroll();
};

// One family's table of kernels for one dtype: `Table` is a struct of function
// pointers (and constants) that the family declares; `makers[i]` builds the
// table of Isa(i), null where the family has none (the portable one is required).
template <class Table>
class KernelTable final : public KernelFamily {
 public:
  using Maker = Table (*)();

  KernelTable(const char* name_, const char* dtype_, Maker portable, Maker avx2, Maker avx512)
      : KernelFamily(name_, dtype_), makers_{portable, avx2, avx512} {
    enroll();
  }

  // The table of the ISA chosen.
  const Table& operator*() const { return *active_.load(std::memory_order_acquire); }
  const Table* operator->() const { return active_.load(std::memory_order_acquire); }

  Isa install(Isa isa) override {
    int i = static_cast<int>(isa);
    while (makers_[i] == nullptr) --i;
    if (!filled_[i]) {
      tables_[i] = makers_[i]();
      filled_[i] = true;
    }
    active_.store(&tables_[i], std::memory_order_release);
    return static_cast<Isa>(i);
  }

 private:
  Maker makers_[kIsaCount];
  Table tables_[kIsaCount]{};
  bool filled_[kIsaCount]{};
  std::atomic<const Table*> active_{nullptr};
};

// The table of dtype T among a family's float and double tables.
template <typename T, class F, class D>
const auto& table_for(const KernelTable<F>& f32, const KernelTable<D>& f64) {
  if constexpr (std::is_same_v<T, float>)
    return *f32;
  else
    return *f64;
}

// A maker that exists on x86 builds only (the *_avx2.cpp and *_avx512.cpp
// files are compiled there only): PYFASTNN_X86_ONLY(avx2::kernels_f32).
#ifdef PYFASTNN_X86
#define PYFASTNN_X86_ONLY(maker) (maker)
#else
#define PYFASTNN_X86_ONLY(maker) nullptr
#endif

}  // namespace pyfastnn
