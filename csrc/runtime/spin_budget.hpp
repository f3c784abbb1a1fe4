// How long a pool worker spins for its next job before it sleeps, from the
// gaps it waited for the last ones.
//
// A worker that spins through a gap joins the next job at once; one that
// sleeps joins it a futex wake-up late (10-50 us on the VM). But while it
// spins it holds a core, and when the caller's next thing is another
// library's work (NumPy's matmul on OpenBLAS's threads, PyTorch's libgomp
// team) that library's thread waits for the spin to end. The gaps a worker
// sees are of two kinds: those inside a native call and between calls made
// back to back (a few us to tens of us), and those filled by other work
// (hundreds of us and more), which no bounded spin bridges. So the worker
// spins kCover times the longest recent gap that a spin of kMaxNs would have
// bridged, at least kMinNs; with no such gap among the last kRecent, kMinNs.
// A gap longer than the budget but shorter than kMaxNs (the worker slept)
// raises the budget for the next gap: the budget follows the caller within
// one gap.
//
// Measured on the 2-vCPU VM (quiet), 784-256-26 float32 loss_and_grad at
// batch 64 called alternately with NumPy's 256x256 matmul, medians of 300:
// a fixed 100 us spin, native 1.10-1.14x its time alone and NumPy's matmul
// 1.19-1.22x (it waited for the spin); a fixed 30 us spin 1.07-1.10x and
// 1.0x; no spin, the native step alone 10-13% slower than with 100 us. This
// budget: native 1.02-1.08x, NumPy 1.0x (thread_pool.cpp's build before it
// 1.07-1.25x and 1.10-1.22x, alternating in the same minutes).
#pragma once

#include <algorithm>
#include <cstdint>

namespace pyfastnn {

class SpinBudget {
 public:
  static constexpr int64_t kMaxNs = 100'000;
  static constexpr int64_t kMinNs = 20'000;
  static constexpr int kRecent = 16;
  static constexpr int64_t kCover = 2;

  // The worker waited gap_ns (spinning, sleeping, or both) for a job.
  void record(int64_t gap_ns) {
    gaps_[next_] = gap_ns;
    next_ = (next_ + 1) % kRecent;
    if (count_ < kRecent) ++count_;
  }
  // How long to spin before sleeping; kMaxNs before any gap was seen.
  int64_t limit_ns() const {
    if (count_ == 0) return kMaxNs;
    int64_t longest = 0;
    for (int i = 0; i < count_; ++i)
      if (gaps_[i] < kMaxNs) longest = std::max(longest, gaps_[i]);
    return std::clamp(kCover * longest, kMinNs, kMaxNs);
  }

 private:
  int64_t gaps_[kRecent] = {};
  int next_ = 0;
  int count_ = 0;
};

}  // namespace pyfastnn
