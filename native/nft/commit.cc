#include "commit.h"

#include <cerrno>

namespace iptkit {
namespace nft {

OpError commit_tables(bool, uint32_t, const std::vector<std::string>&) {
  return make_error(ENOSYS, "commit", "nftCommit is not built yet");
}

}  // namespace nft
}  // namespace iptkit
