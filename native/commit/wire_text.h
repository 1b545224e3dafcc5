// A commit's wire for one table as the addon copies it from JavaScript: a string, or its
// pieces in order (the big chains' texts are pieces of their own, so JavaScript never joins a
// whole wire into one more string), copied into one buffer on the main thread. A big one gets
// a mapping of its own, unmapped as soon as its table is planned (restore/held.h
// plan_wires): a malloc'd copy would leave its pages in the main thread's malloc arena,
// where they stayed part of the process's RSS through the commit's peak.
#pragma once

#include <napi.h>

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace iptkit::commit {

class WireText {
 public:
  WireText() = default;
  ~WireText() { release(); }
  WireText(WireText&& o) noexcept : data_(o.data_), size_(o.size_), released_(o.released_), mapped_(o.mapped_) {
    o.data_ = nullptr;
  }
  WireText& operator=(WireText&& o) noexcept {
    if (this != &o) {
      release();
      data_ = o.data_, size_ = o.size_, released_ = o.released_, mapped_ = o.mapped_;
      o.data_ = nullptr;
    }
    return *this;
  }
  WireText(const WireText&) = delete;
  WireText& operator=(const WireText&) = delete;

  // Argument `i` of a commit: one wire per table, each a string or an array of strings.
  static std::vector<WireText> from_js(const Napi::CallbackInfo& info, size_t i, const char* name);

  std::string_view view() const { return data_ ? std::string_view(data_, size_) : std::string_view(); }

  // Gives a mapped text's pages that lie wholly before `p` (a position in it) back to the
  // kernel: what nothing reads again, as a table's held texts are planned in order
  // (restore/held.h plan_held), need not stay in RSS while its rules are made.
  void release_before(const char* p);

 private:
  void allocate(size_t size);
  void release();

  char* data_ = nullptr;
  size_t size_ = 0;
  size_t released_ = 0;  // release_before: the bytes given back, from the start
  bool mapped_ = false;
};

// About how much native memory a commit of these wires holds at its peak, for V8's external
// memory (common/worker.h): new rules in their kernel form (x_tables entries and their
// replacement, or nf_tables messages) and the plan came to 5-8 times the wire's bytes at
// 100,000 Docker ports; four times is what is counted.
int64_t commit_footprint(const std::vector<WireText>& wires);

}  // namespace iptkit::commit
