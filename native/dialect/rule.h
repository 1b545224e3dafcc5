// One iptables rule in the native dialect: the ip header part (struct ipt_ip / ip6t_ip6 in a
// family-neutral form), its matches and target as the kernel's extension structs, and
// counters. The parser builds it from text, the printers print it, and both back ends turn
// it into, or read it from, the kernel's form. Canonical text — the line iptables-save
// prints — is how a rule leaves the addon; this struct never crosses into JavaScript.
#pragma once

#include <net/if.h>

#include <cstdint>
#include <string>
#include <vector>

#include "extension.h"

namespace iptkit {
namespace dialect {

// IPT_INV_* (ip6t uses the same values): which ip fields `!` inverts.
enum InvFlag : uint8_t {
  kInvIn = 0x01,
  kInvOut = 0x02,
  kInvSrc = 0x08,
  kInvDst = 0x10,
  kInvFrag = 0x20,
  kInvProto = 0x40,
};

struct IpPart {
  uint8_t src[16] = {}, smsk[16] = {}, dst[16] = {}, dmsk[16] = {};  // IPv4 uses the first 4
  char iniface[IFNAMSIZ] = {}, outiface[IFNAMSIZ] = {};
  unsigned char iniface_mask[IFNAMSIZ] = {}, outiface_mask[IFNAMSIZ] = {};
  uint16_t proto = 0;
  uint8_t invflags = 0;
  bool frag = false;  // IPv4 -f (with kInvFrag: ! -f)
};

// A match or target extension instance: the kernel's name, revision and data area.
struct XtInstance {
  const Extension* ext = nullptr;  // nullptr: no module prints it (carried opaque)
  std::string name;
  uint8_t revision = 0;
  std::vector<uint8_t> data;       // XT_ALIGNed size, as the kernel holds it
};

enum class TargetKind : uint8_t { kNone, kVerdict, kJump, kGoto, kExtension };

struct Rule {
  IpPart ip;
  std::vector<XtInstance> matches;
  TargetKind target_kind = TargetKind::kNone;
  std::string target_name;         // ACCEPT/DROP/RETURN/QUEUE, or the chain of -j/-g
  XtInstance target;               // kExtension
  bool has_counters = false;
  uint64_t packets = 0, bytes = 0;
};

}  // namespace dialect
}  // namespace iptkit
