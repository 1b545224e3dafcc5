#include "scratch.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <mutex>
#include <new>

#include "prefault.h"

// Under AddressSanitizer a block is poisoned while it is kept, and a taken one past the bytes
// asked for: a use after scratch_give, or a write past a buffer's end into its block's slack,
// is reported as it would be for malloc'd memory. (No-ops in other builds.)
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define IPTKIT_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define IPTKIT_ASAN 1
#endif
#ifdef IPTKIT_ASAN
#include <sanitizer/asan_interface.h>
#define POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define POISON(p, n) ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#ifndef MADV_WIPEONFORK
#define MADV_WIPEONFORK 18
#endif

namespace iptkit {
namespace {

// Kept blocks: enough for the buffers of a few 30,000-rule operations; beyond this a given
// block is unmapped.
constexpr size_t kKeepBytes = size_t{64} << 20;
// Mappings are whole multiples of this (a vector grown by doubling asks sizes that mostly fit
// a block kept from the last operation's same vector).
constexpr size_t kGranule = size_t{1} << 20;

struct Block {
  void* p;
  size_t size;  // the mapping's
};

std::mutex mu;
std::vector<Block> kept;  // guarded by mu
size_t kept_bytes = 0;    // guarded by mu
std::vector<Block> lent;  // guarded by mu: taken blocks, whose mapping may be bigger than asked

size_t mapping_size(size_t bytes) { return (bytes + kGranule - 1) / kGranule * kGranule; }

}  // namespace

void* scratch_take(size_t bytes) {
  const size_t size = mapping_size(bytes);
  std::lock_guard<std::mutex> g(mu);
  lent.reserve(lent.size() + 1);  // before the mapping: a throw must not leave it unrecorded
  {
    // The smallest kept block that fits, unless it is much bigger than asked: a small buffer
    // must not hold on to the big one the next big buffer needs.
    auto best = kept.end();
    for (auto it = kept.begin(); it != kept.end(); ++it) {
      if (it->size >= size && it->size <= 4 * size && (best == kept.end() || it->size < best->size)) best = it;
    }
    if (best != kept.end()) {
      void* p = best->p;
      kept_bytes -= best->size;
      lent.push_back(*best);
      kept.erase(best);
      UNPOISON(p, bytes);
      return p;
    }
  }
  void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  madvise(p, size, MADV_WIPEONFORK);  // Linux 4.14; before it the block is an ordinary mapping
  prefault(p, size);
  lent.push_back(Block{p, size});
  POISON(static_cast<char*>(p) + bytes, size - bytes);
  return p;
}

void scratch_give(void* p, size_t bytes) noexcept {
  size_t size = mapping_size(bytes);
  std::lock_guard<std::mutex> g(mu);
  for (auto it = lent.begin(); it != lent.end(); ++it) {
    if (it->p == p) {
      size = it->size;
      lent.erase(it);
      break;
    }
  }
  if (kept_bytes + size <= kKeepBytes) {
    try {
      kept.push_back(Block{p, size});
      kept_bytes += size;
      POISON(p, size);
      return;
    } catch (...) {
    }
  }
  UNPOISON(p, size);  // the addresses may be mapped again, by anyone
  munmap(p, size);
}

ScratchBytes scratch_bytes() {
  std::lock_guard<std::mutex> g(mu);
  ScratchBytes b;
  b.kept = kept_bytes;
  for (const Block& l : lent) b.lent += l.size;
  return b;
}

}  // namespace iptkit
