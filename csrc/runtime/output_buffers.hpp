// Memory for the large arrays the module returns, kept when Python frees
// them for the next array of the same size.
//
// A fresh large array costs a page fault for every 4 KiB its kernel first
// writes: glibc gives requests over its mmap threshold new mappings and,
// once two such blocks are free at the top of its heap, returns them to the
// system. On the 2-vCPU VM a fault costs ~1.5 us, so sparsemax over a
// 512 x 512 float64 array (2 MiB, 512 pages) took 0.8-1.1 ms into fresh
// memory against 0.07-0.15 ms into reused memory, and the NumPy attention
// pipeline sparsemax(Q @ K.T) @ V took 2.6-3.0 ms against 0.86-0.96 ms for
// its parts timed alone (1,450 faults per call; NumPy's own
// exp(Q @ K.T) @ V, 2.8-3.0x its parts, faults as much). With the map's
// output kept here the pipeline faulted 7 times per call and took 1.07x its
// parts.
//
// A buffer of kMinBytes or more is rounded up to kGrainBytes and kept, when
// freed, unless that would hold more than kMaxKept buffers or kMaxKeptBytes;
// the oldest kept buffers make room. kMaxKeptBytes is what an idle process
// may hold beyond its arrays; release_output_buffers() frees it.
//
// Thread-safe (one mutex, held for a few list operations). Python calls
// take and give with the GIL held, so no thread holds the mutex when the
// interpreter forks.
#pragma once

#include <cstddef>
#include <cstdint>

namespace pyfastnn {

struct OutputBufferStats {
  int64_t kept = 0;        // buffers kept now
  int64_t kept_bytes = 0;  // their bytes
  int64_t reused = 0;      // buffers handed out again since load
  int64_t allocated = 0;   // buffers allocated since load (kMinBytes or more)
};

class OutputBuffers {
 public:
  static constexpr std::size_t kMinBytes = std::size_t{256} << 10;
  static constexpr std::size_t kGrainBytes = std::size_t{64} << 10;
  static constexpr std::size_t kMaxKeptBytes = std::size_t{64} << 20;
  static constexpr int kMaxKept = 4;
  static constexpr std::size_t kAlignment = 64;
};

// The size class of a request of `bytes` (>= kMinBytes): rounded up to
// kGrainBytes; 0 when the rounding overflows.
std::size_t output_buffer_class(std::size_t bytes);
// A 64-byte aligned buffer of output_buffer_class(bytes) bytes: a kept one
// of that class if any, else new; nullptr when no memory is left.
void* take_output_buffer(std::size_t bytes);
// Hands back a buffer take_output_buffer(bytes) gave.
void give_output_buffer(void* buffer, std::size_t bytes) noexcept;
// Frees every kept buffer.
void release_output_buffers() noexcept;
OutputBufferStats output_buffer_stats();

}  // namespace pyfastnn
