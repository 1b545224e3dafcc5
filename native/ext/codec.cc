// The codec registry: every native/ext/*.cc registers its Codec at load time; the back ends
// look one up per match or target they read or write.
#include "codec.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace iptkit {

namespace {
struct Entry {
  std::string_view name;  // measured once: lookups run once per match of every rule read
  const Codec* codec;
};

// Function-local so that registration from other files' static initialisers is safe.
std::vector<Entry>& registry() {
  static std::vector<Entry> codecs;
  return codecs;
}
}  // namespace

void register_codec(const Codec* codec) {
  for (const Entry& e : registry()) {
    const Codec* c = e.codec;
    if (c->is_target == codec->is_target && c->revision == codec->revision && e.name == codec->name &&
        (c->family == 0 || codec->family == 0 || c->family == codec->family)) {
      // Two codecs for one extension would make decoding depend on link order: a build bug.
      fprintf(stderr, "iptkit: two codecs register %s %s revision %u\n", codec->is_target ? "target" : "match",
              codec->name, codec->revision);
      abort();
    }
  }
  registry().push_back(Entry{codec->name, codec});
}

const Codec* find_codec(std::string_view name, uint8_t revision, bool is_target, Family family) {
  for (const Entry& e : registry()) {
    const Codec* c = e.codec;
    if (c->is_target != is_target || c->revision != revision || e.name != name) continue;
    if (c->family != 0 && c->family != static_cast<int>(family)) continue;
    return c;
  }
  return nullptr;
}

}  // namespace iptkit
