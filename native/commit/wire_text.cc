#include "wire_text.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdlib>
#include <new>
#include <string>

#include "../common/prefault.h"

namespace iptkit::commit {
namespace {

// Below this, malloc: a commit of a few rules is not worth a mapping.
constexpr size_t kMapFrom = 1u << 20;

size_t utf8_length(napi_env env, napi_value v) {
  size_t n = 0;
  NAPI_THROW_IF_FAILED(env, napi_get_value_string_utf8(env, v, nullptr, 0, &n), 0);
  return n;
}

}  // namespace

void WireText::allocate(size_t size) {
  release();
  size_ = size;
  mapped_ = size + 1 >= kMapFrom;
  if (mapped_) {
    void* p = mmap(nullptr, size + 1, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::bad_alloc();
    data_ = static_cast<char*>(p);
    prefault(data_, size + 1);
  } else {
    data_ = static_cast<char*>(std::malloc(size + 1));
    if (!data_) throw std::bad_alloc();
  }
}

void WireText::release_before(const char* p) {
  if (!mapped_ || !data_ || p < data_ || p > data_ + size_) return;
  // The mapping starts on a page: every page below the one `p` is on.
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  const size_t upto = static_cast<size_t>(p - data_) / page * page;
  if (upto <= released_) return;
  madvise(data_ + released_, upto - released_, MADV_DONTNEED);
  released_ = upto;
}

void WireText::release() {
  if (!data_) return;
  if (mapped_) munmap(data_, size_ + 1);
  else std::free(data_);
  data_ = nullptr;
}

std::vector<WireText> WireText::from_js(const Napi::CallbackInfo& info, size_t i, const char* name) {
  Napi::Env env = info.Env();
  if (info.Length() <= i || !info[i].IsArray()) {
    throw Napi::TypeError::New(env, std::string(name) + " must be an array of wires (strings, or arrays of strings)");
  }
  Napi::Array tables = info[i].As<Napi::Array>();
  std::vector<WireText> out(tables.Length());
  std::vector<napi_value> pieces;
  std::vector<size_t> sizes;
  for (uint32_t k = 0; k < tables.Length(); k++) {
    Napi::Value t = tables.Get(k);
    pieces.clear();
    if (t.IsString()) {
      pieces.push_back(t);
    } else if (t.IsArray()) {
      Napi::Array a = t.As<Napi::Array>();
      for (uint32_t j = 0; j < a.Length(); j++) {
        Napi::Value p = a.Get(j);
        if (!p.IsString()) {
          throw Napi::TypeError::New(env, std::string(name) + "[" + std::to_string(k) + "][" + std::to_string(j) + "] must be a string");
        }
        pieces.push_back(p);
      }
    } else {
      throw Napi::TypeError::New(env, std::string(name) + "[" + std::to_string(k) + "] must be a string or an array of strings");
    }
    sizes.clear();
    size_t total = 0;
    for (napi_value p : pieces) total += sizes.emplace_back(utf8_length(env, p));
    out[k].allocate(total);
    size_t at = 0;
    for (size_t j = 0; j < pieces.size(); j++) {
      size_t written = 0;
      // Each piece's NUL lands where the next one starts, and the last one's in the spare byte.
      NAPI_THROW_IF_FAILED(env, napi_get_value_string_utf8(env, pieces[j], out[k].data_ + at, sizes[j] + 1, &written), {});
      at += written;
    }
    // V8 writes what it measured (a lone surrogate is U+FFFD both times): a gap would be
    // bytes nobody wrote, parsed as the wire's.
    if (at != total) throw Napi::Error::New(env, std::string(name) + "[" + std::to_string(k) + "]: the wire changed size while it was copied");
  }
  return out;
}

int64_t commit_footprint(const std::vector<WireText>& wires) {
  int64_t bytes = 0;
  for (const WireText& w : wires) bytes += static_cast<int64_t>(w.view().size());
  return 4 * bytes;
}

}  // namespace iptkit::commit
