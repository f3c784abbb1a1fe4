// The kept output buffers (output_buffers.hpp): a short list, newest last.
#include "runtime/output_buffers.hpp"

#include <cstdint>
#include <iterator>
#include <mutex>
#include <new>
#include <vector>

namespace pyfastnn {
namespace {

struct Kept {
  void* buffer;
  std::size_t bytes;  // its size class
};

struct Store {
  Store() { kept.reserve(OutputBuffers::kMaxKept); }  // push_back never reallocates
  std::mutex mutex;
  std::vector<Kept> kept;  // at most kMaxKept, oldest first
  std::size_t kept_bytes = 0;
  int64_t reused = 0;
  int64_t allocated = 0;
};

Store& store() {
  static Store* const s = new Store;  // never destroyed: arrays may outlive static destruction
  return *s;
}

void free_buffer(void* buffer) noexcept {
  ::operator delete(buffer, std::align_val_t(OutputBuffers::kAlignment));
}

}  // namespace

std::size_t output_buffer_class(std::size_t bytes) {
  const std::size_t grain = OutputBuffers::kGrainBytes;
  if (bytes > SIZE_MAX - (grain - 1)) return 0;
  return (bytes + grain - 1) / grain * grain;
}

void* take_output_buffer(std::size_t bytes) {
  const std::size_t size = output_buffer_class(bytes);
  if (size == 0) return nullptr;
  Store& s = store();
  {
    const std::lock_guard<std::mutex> lock(s.mutex);
    for (auto it = s.kept.rbegin(); it != s.kept.rend(); ++it) {
      if (it->bytes != size) continue;
      void* const buffer = it->buffer;
      s.kept_bytes -= size;
      s.kept.erase(std::next(it).base());
      ++s.reused;
      return buffer;
    }
    ++s.allocated;
  }
  return ::operator new(size, std::align_val_t(OutputBuffers::kAlignment), std::nothrow);
}

void give_output_buffer(void* buffer, std::size_t bytes) noexcept {
  if (buffer == nullptr) return;
  const std::size_t size = output_buffer_class(bytes);
  if (size == 0 || size > OutputBuffers::kMaxKeptBytes) {
    free_buffer(buffer);
    return;
  }
  Store& s = store();
  {
    const std::lock_guard<std::mutex> lock(s.mutex);
    while (!s.kept.empty() && (static_cast<int>(s.kept.size()) >= OutputBuffers::kMaxKept ||
                               s.kept_bytes + size > OutputBuffers::kMaxKeptBytes)) {
      free_buffer(s.kept.front().buffer);
      s.kept_bytes -= s.kept.front().bytes;
      s.kept.erase(s.kept.begin());
    }
    s.kept.push_back({buffer, size});  // within the capacity reserved: no allocation
    s.kept_bytes += size;
  }
}

void release_output_buffers() noexcept {
  Store& s = store();
  const std::lock_guard<std::mutex> lock(s.mutex);
  for (const Kept& k : s.kept) free_buffer(k.buffer);
  s.kept.clear();
  s.kept_bytes = 0;
}

OutputBufferStats output_buffer_stats() {
  Store& s = store();
  const std::lock_guard<std::mutex> lock(s.mutex);
  OutputBufferStats r;
  r.kept = static_cast<int64_t>(s.kept.size());
  r.kept_bytes = static_cast<int64_t>(s.kept_bytes);
  r.reused = s.reused;
  r.allocated = s.allocated;
  return r;
}

}  // namespace pyfastnn
