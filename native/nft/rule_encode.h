// Encoding one wire rule (docs/wire.md) into the expressions iptables-nft 1.8.9 writes for the
// same iptables rule: native meta/payload/bitwise/cmp for the ip fields, native expressions for
// tcp/udp/mark/limit where iptables-nft uses them, compat match/target otherwise, the counter
// before the verdict, and NFTA_RULE_COMPAT for -p.
#pragma once

#include <libnftnl/rule.h>

#include <cstdint>
#include <string>
#include <vector>

#include "../ext/codec.h"

namespace iptkit {
namespace nft {

struct XtSpec {
  std::string name;
  uint8_t revision = 0;
  Fields fields;
};

struct RuleSpec {
  Fields ip;  // pkts, bytes, src, dst, in, out, proto, inv, frag, goto
  std::vector<XtSpec> matches;
  enum Action { kNone, kVerdict, kJump, kTarget } action = kNone;
  std::string verdict;  // ACCEPT, DROP, RETURN
  std::string chain;    // jump
  XtSpec target;
  size_t line = 0;  // 1-based line in its table's wire string, for errors
};

// Adds the rule's expressions and compat attributes to `r` (table and chain are the caller's).
// False with `err` naming the field when the rule cannot be encoded.
bool encode_rule(const RuleSpec& spec, Family family, nftnl_rule* r, std::string& err);

// A generous upper bound of the netlink payload encode_rule produces for `spec`.
size_t encoded_size_bound(const RuleSpec& spec);

}  // namespace nft
}  // namespace iptkit
