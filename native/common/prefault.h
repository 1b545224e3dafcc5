// Fresh memory, faulted in ahead in one call. A multi-megabyte buffer (a read's wire, a save's
// text) otherwise takes one page fault per 4 KiB page as it is first written, and on a
// virtual machine each fault is an exit costing microseconds: a 30,000-rule table's buffers
// were a third of a one-shot `iptkit save`. Every page is populated by MADV_POPULATE_WRITE
// (Linux 5.14); on older kernels nothing happens and the pages fault in as before. No
// MADV_HUGEPAGE: with THP's defrag in its default "madvise" mode, huge pages asked for are
// made by direct compaction in the call, which made a one-shot `iptkit restore` of 10,000
// ports vary between 112 and 181 ms; without it, 111-125 ms.
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

namespace iptkit {

inline void prefault(void* p, size_t n) {
  constexpr size_t kWorth = 256u << 10;  // below this, faults are cheaper than the calls
  if (n < kWorth) return;
  const uintptr_t page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  uintptr_t begin = (reinterpret_cast<uintptr_t>(p) + page - 1) & ~(page - 1);
  uintptr_t end = (reinterpret_cast<uintptr_t>(p) + n) & ~(page - 1);
  if (end <= begin) return;
  void* b = reinterpret_cast<void*>(begin);
  madvise(b, end - begin, MADV_POPULATE_WRITE);
}

}  // namespace iptkit

namespace iptkit {

// Makes this thread's malloc arena hold `bytes` of free, already-faulted memory: blocks are
// allocated, prefaulted and freed, and glibc keeps freed memory mapped (addon.cc raises its
// trim threshold), so the job that follows allocates from pages that are already there. For
// a job whose size is known from its input (a restore's text): a cold process then pays one
// madvise instead of a fault per page.
inline void prefault_arena(size_t bytes) {
  constexpr size_t kBlock = 8u << 20;  // below the mmap threshold: served from the arena
  constexpr size_t kMax = 16;
  void* blocks[kMax];
  size_t n = 0;
  for (; n < kMax && bytes > 0; n++) {
    size_t b = bytes < kBlock ? bytes : kBlock;
    blocks[n] = malloc(b);
    if (!blocks[n]) break;
    prefault(blocks[n], b);
    bytes -= b;
  }
  while (n > 0) free(blocks[--n]);
}

}  // namespace iptkit
