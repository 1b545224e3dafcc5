#include "state_cache.h"

#include <mutex>

namespace iptkit {
namespace nft {

namespace {

// A few namespaces at once (a process managing several hosts' worth of containers); the
// oldest entry goes first.
constexpr size_t kEntries = 8;

std::mutex g_mu;
std::vector<std::shared_ptr<const CachedState>> g_entries;  // most recent last

}  // namespace

void state_cache_put(std::shared_ptr<const CachedState> state) {
  if (!state || state->netns == 0) return;
  std::lock_guard<std::mutex> lock(g_mu);
  for (size_t i = 0; i < g_entries.size(); i++) {
    if (g_entries[i]->netns == state->netns && g_entries[i]->family == state->family) {
      g_entries.erase(g_entries.begin() + static_cast<std::ptrdiff_t>(i));
      break;
    }
  }
  if (g_entries.size() >= kEntries) g_entries.erase(g_entries.begin());
  g_entries.push_back(std::move(state));
}

std::shared_ptr<const CachedState> state_cache_get(uint64_t netns, uint16_t family, uint32_t generation) {
  if (netns == 0) return nullptr;
  std::lock_guard<std::mutex> lock(g_mu);
  for (const auto& e : g_entries) {
    if (e->netns == netns && e->family == family && e->generation == generation) return e;
  }
  return nullptr;
}

}  // namespace nft
}  // namespace iptkit
