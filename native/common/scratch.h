// Big working buffers (a restore's text and steps, a legacy table's entries) that stay
// mapped and writable from one operation to the next, even across a fork() of the process.
//
// Why: node's child_process forks the whole process, and fork() write-protects every private
// page, so after any spawn the first write to each page of a reused malloc buffer faults again
// (and each fault is a VM exit on a virtual machine: a 10,000-port restore in a process that
// had just spawned `ip` took 120 ms against 45 ms without the spawn). Blocks from here are
// their own mappings marked MADV_WIPEONFORK: fork() leaves their page tables alone (a child
// would see zeros; iptkit never runs code in a child it forks), so a freed block taken again
// is written at full speed. A new block is faulted in by one MADV_POPULATE_WRITE.
//
// Below kScratchMin bytes a buffer comes from malloc as usual.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

namespace iptkit {

constexpr size_t kScratchMin = size_t{1} << 20;

// A block of at least `bytes` (>= kScratchMin): a kept one that fits, or a new mapping.
// Throws std::bad_alloc when the mapping fails.
void* scratch_take(size_t bytes);
// Gives back a block scratch_take(bytes) returned: kept for the next take, up to a bound.
void scratch_give(void* p, size_t bytes) noexcept;
// The bytes of the blocks kept for the next take, and of those taken and not given back.
struct ScratchBytes {
  size_t kept = 0, lent = 0;
};
ScratchBytes scratch_bytes();

template <class T>
struct ScratchAllocator {
  using value_type = T;
  ScratchAllocator() noexcept = default;
  template <class U>
  ScratchAllocator(const ScratchAllocator<U>&) noexcept {}

  T* allocate(size_t n) {
    const size_t bytes = n * sizeof(T);
    if (bytes >= kScratchMin) return static_cast<T*>(scratch_take(bytes));
    return std::allocator<T>().allocate(n);
  }
  void deallocate(T* p, size_t n) noexcept {
    const size_t bytes = n * sizeof(T);
    if (bytes >= kScratchMin) return scratch_give(p, bytes);
    std::allocator<T>().deallocate(p, n);
  }
  template <class U>
  bool operator==(const ScratchAllocator<U>&) const noexcept { return true; }
  template <class U>
  bool operator!=(const ScratchAllocator<U>&) const noexcept { return false; }
};

using ScratchString = std::basic_string<char, std::char_traits<char>, ScratchAllocator<char>>;
template <class T>
using ScratchVector = std::vector<T, ScratchAllocator<T>>;

}  // namespace iptkit
