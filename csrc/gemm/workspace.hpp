// Per-thread packing memory: Workspace (64-byte aligned scratch that grows on
// demand and is kept across calls), one per OS thread for the packed panels
// and one for the partial sums of a split over k, and WorkspaceLease, which
// lends one for a computation (a private one when gemm is re-entered from an
// epilogue).
// Private to gemm.cpp: included only into its translation unit (internal
// linkage, so code generation is that of one file).
#pragma once

#include <cstdint>
#include <cstdlib>
#include <new>

#include "gemm/problem.hpp"

namespace pyfastnn {
namespace {

// ---- per-thread packing memory -----------------------------------------------

// 64-byte aligned scratch memory that grows on demand and is kept for the next
// call, so repeated products of the same size do not allocate.
class Workspace {
 public:
  Workspace() = default;
  Workspace(const Workspace&) = delete;
  Workspace& operator=(const Workspace&) = delete;
  ~Workspace() { std::free(data_); }

  void* get(size_t bytes) {
    if (bytes > capacity_) {
      std::free(data_);
      data_ = nullptr;
      capacity_ = 0;
      const size_t size = static_cast<size_t>(round_up(static_cast<int64_t>(bytes), 4096));
      data_ = std::aligned_alloc(64, size);
      if (data_ == nullptr) throw std::bad_alloc();
      capacity_ = size;
    }
    return data_;
  }

  bool busy = false;

 private:
  void* data_ = nullptr;
  size_t capacity_ = 0;
};

// One per OS thread (the caller and each pool worker), so concurrent calls
// from several Python threads never share packing buffers.
thread_local Workspace tls_workspace;
// The calling thread's partial sums of a split over k (gemm_split_k), shared
// with its team for one call.
thread_local Workspace tls_partials;

// One of the calling thread's workspaces for one computation. If it is
// already in use (gemm called again from inside an epilogue), a private one
// is used.
class WorkspaceLease {
 public:
  explicit WorkspaceLease(Workspace& tls = tls_workspace) : ws_(tls.busy ? &own_ : &tls) {
    ws_->busy = true;
  }
  ~WorkspaceLease() { ws_->busy = false; }
  WorkspaceLease(const WorkspaceLease&) = delete;
  WorkspaceLease& operator=(const WorkspaceLease&) = delete;

  template <typename T>
  T* get(int64_t elems) {
    return static_cast<T*>(ws_->get(static_cast<size_t>(elems) * sizeof(T)));
  }

 private:
  Workspace own_;
  Workspace* ws_;
};

}  // namespace
}  // namespace pyfastnn
