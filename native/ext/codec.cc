#include "codec.h"

#include <cstring>

namespace iptkit {

namespace {
// Function-local so that registration from other files' static initialisers is safe.
std::vector<const Codec*>& registry() {
  static std::vector<const Codec*> codecs;
  return codecs;
}
}  // namespace

void register_codec(const Codec* codec) { registry().push_back(codec); }

const Codec* find_codec(std::string_view name, uint8_t revision, bool is_target, Family family) {
  for (const Codec* c : registry()) {
    if (c->is_target != is_target || c->revision != revision || name != c->name) continue;
    if (c->family != 0 && c->family != static_cast<int>(family)) continue;
    return c;
  }
  return nullptr;
}

}  // namespace iptkit
