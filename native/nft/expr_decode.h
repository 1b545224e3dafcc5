// Decoding one nf_tables rule written by iptables-nft back into the wire records the legacy
// back end gives for the same iptables rule (docs/wire.md): the ip fields from native
// meta/payload/bitwise/cmp expressions, the matches iptables-nft encodes natively (tcp, udp,
// mark, limit) rebuilt as their xt structs and run through the xt codec, compat match/target
// expressions through the codec, verdicts, the counter, and the userdata comment.
#pragma once

#include <libnftnl/rule.h>
#include <linux/netlink.h>

#include <string>
#include <string_view>
#include <vector>

#include "../ext/codec.h"

namespace iptkit {
namespace nft {

// Appends the `rule` line and its `match`/`target`/`verdict`/`jump` lines to `out` and returns
// true; or, when the rule is not in iptables-nft form, appends nothing and returns false with
// `why` saying what did not fit. `jumps` receives the chains the rule jumps or goes to, either way.
bool decode_rule(const nftnl_rule* r, Family family, std::string& out, std::string& why,
                 std::vector<std::string>& jumps);

// The same straight from a rule message of a dump, without libnftnl: appends what decode_rule
// would and returns true, setting `handle`; or sets `other` (and returns true) when the rule is
// not in `table`/`chain`. Returns false, having appended nothing (`jumps` may have grown), for
// anything else (a rule not in iptables-nft form, an attribute it does not expect): the caller
// then parses the message with libnftnl and calls decode_rule, which has the last word.
bool decode_rule_nlmsg(const nlmsghdr* nlh, Family family, std::string_view table, std::string_view chain,
                       std::string& out, std::vector<std::string>& jumps, uint64_t& handle, bool& other);

// `foreign	handle=N	text=…` for a rule decode_rule refused.
void write_foreign(const nftnl_rule* r, std::string& out);

}  // namespace nft
}  // namespace iptkit
