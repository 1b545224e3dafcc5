#include "dump.h"

#include <libnftnl/table.h>
#include <linux/netfilter/nf_tables.h>

#include <cerrno>

#include "handles.h"

namespace iptkit {
namespace nft {

int dump_table_names(NlSocket& sock, uint16_t family, const std::function<void(const char* name)>& each) {
  return sock.dump(NFT_MSG_GETTABLE, family, nullptr, [&](const nlmsghdr* nlh) -> int {
    TablePtr t(nftnl_table_alloc());
    if (!t) return ENOMEM;
    if (nftnl_table_nlmsg_parse(nlh, t.get()) < 0) return EPROTO;
    if (const char* name = nftnl_table_get_str(t.get(), NFTNL_TABLE_NAME)) each(name);
    return 0;
  });
}

int dump_chains(NlSocket& sock, uint16_t family,
                const std::function<int(const nftnl_chain* chain, const char* table, const char* name)>& each) {
  return sock.dump(NFT_MSG_GETCHAIN, family, nullptr, [&](const nlmsghdr* nlh) -> int {
    ChainPtr c(nftnl_chain_alloc());
    if (!c) return ENOMEM;
    if (nftnl_chain_nlmsg_parse(nlh, c.get()) < 0) return EPROTO;
    const char* table = nftnl_chain_get_str(c.get(), NFTNL_CHAIN_TABLE);
    const char* name = nftnl_chain_get_str(c.get(), NFTNL_CHAIN_NAME);
    if (!table || !name) return 0;
    return each(c.get(), table, name);
  });
}

}  // namespace nft
}  // namespace iptkit
