// Decoding one nf_tables rule written by iptables-nft back into the iptables rule it came from
// (dialect::Rule): the ip part from native meta/payload/bitwise/cmp expressions, the matches
// iptables-nft encodes natively (tcp, udp, mark, limit) rebuilt as their xt structs, compat
// match/target data as read, the verdict, the counter, and the userdata comment. Printing it
// is the dialect's business (save_rule), so a rule reads exactly as legacy's does.
#pragma once

#include <libnftnl/rule.h>
#include <linux/netlink.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "../dialect/rule.h"

namespace iptkit {
namespace nft {

// Fills `out` (with its counters) and returns true; or, when the rule is not in iptables-nft
// form, returns false with `why` saying what did not fit. `jumps` receives the chains the
// rule jumps or goes to, either way.
bool decode_rule(const nftnl_rule* r, Family family, dialect::Rule& out, std::string& why,
                 std::vector<std::string>& jumps);

// The same straight from a rule message of a dump, without libnftnl: fills `out` and `handle`
// and returns true; or sets `other` (and returns true) when the rule is not in `table`/`chain`.
// Returns false (`jumps` may have grown) for anything else (a rule not in iptables-nft form,
// an attribute it does not expect): the caller then parses the message with libnftnl and calls
// decode_rule, which has the last word.
bool decode_rule_nlmsg(const nlmsghdr* nlh, Family family, std::string_view table, std::string_view chain,
                       dialect::Rule& out, std::vector<std::string>& jumps, uint64_t& handle, bool& other);

// What a rule decode_rule refused is, on one line (its expressions as libnftnl prints them,
// counter values left out so that the text does not change as packets pass), and its counters
// (those of its first counter expression; zero without one).
void describe_foreign(const nftnl_rule* r, std::string& out, uint64_t& packets, uint64_t& bytes);

}  // namespace nft
}  // namespace iptkit
