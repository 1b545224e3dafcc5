// One codec per x_tables extension: moves the fields of docs/wire.md in and out of the
// kernel's struct for that match or target. Codecs register themselves at load time
// (IPTKIT_REGISTER_CODEC) so that adding an extension is adding one file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace iptkit {

enum class Family : uint8_t { ipv4 = 2 /* NFPROTO_IPV4 */, ipv6 = 10 /* NFPROTO_IPV6 */ };

// key=value pairs in wire order, values already unescaped.
class Fields {
 public:
  void add(std::string key, std::string value) { kv_.emplace_back(std::move(key), std::move(value)); }
  // nullptr when absent.
  const std::string* find(std::string_view key) const;
  const std::vector<std::pair<std::string, std::string>>& all() const { return kv_; }
  void clear() { kv_.clear(); }

 private:
  std::vector<std::pair<std::string, std::string>> kv_;
};

// Appends `\tkey=value` (value escaped per docs/wire.md) to a wire line.
class FieldWriter {
 public:
  explicit FieldWriter(std::string& out) : out_(out) {}
  void str(std::string_view key, std::string_view value);
  void u64(std::string_view key, uint64_t value);
  void hex(std::string_view key, uint64_t value);  // 0x… form, for masks
  void bytes_hex(std::string_view key, const void* data, size_t len);
  void inet(std::string_view key, Family family, const void* addr);  // inet_ntop form

 private:
  std::string& out_;
};

// Reading side helpers for encode(); each returns false and sets `err` (naming the key and
// value) when a field is malformed. Absent fields keep the caller's default.
bool get_u64(const Fields& f, std::string_view key, uint64_t max, uint64_t& out, std::string& err);
bool get_inet(const Fields& f, std::string_view key, Family family, void* addr, std::string& err);
bool get_hex_bytes(const Fields& f, std::string_view key, void* data, size_t len, std::string& err);

struct Codec {
  const char* name;      // kernel extension name: "tcp", "DNAT"
  uint8_t revision;
  bool is_target;
  int family;            // 0: both; else NFPROTO_IPV4 / NFPROTO_IPV6
  size_t size;           // XT_ALIGN(sizeof(struct …)): the data area the kernel expects
  size_t usersize;       // bytes userspace owns (like xtables' userspacesize); the rest is kernel-private
  void (*decode)(const void* data, size_t len, Family family, FieldWriter& out);
  bool (*encode)(const Fields& in, Family family, void* data, std::string& err);  // data is zeroed, `size` bytes
};

// The codec for this extension, or nullptr (the extension is then carried opaque).
const Codec* find_codec(std::string_view name, uint8_t revision, bool is_target, Family family);

void register_codec(const Codec* codec);

struct CodecRegistrar {
  explicit CodecRegistrar(const Codec* codec) { register_codec(codec); }
};

#define IPTKIT_CODEC_CAT2(a, b) a##b
#define IPTKIT_CODEC_CAT(a, b) IPTKIT_CODEC_CAT2(a, b)
#define IPTKIT_REGISTER_CODEC(codec) \
  static const ::iptkit::CodecRegistrar IPTKIT_CODEC_CAT(iptkit_codec_, __LINE__)(&(codec))

}  // namespace iptkit
