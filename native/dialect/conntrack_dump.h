// libxt_conntrack's conntrack_dump for struct xt_conntrack_mtinfo3, shared by `-m conntrack`
// (native/ext/xt_conntrack.cc) and `-m state` (native/ext/xt_state.cc), which iptables 1.8.9
// writes as the same struct with XT_CONNTRACK_STATE_ALIAS and prints with the same code.
#pragma once

#include <linux/netfilter.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/xt_conntrack.h>

#include <cstdint>
#include <string>

#include "extension.h"
#include "address.h"

namespace iptkit {
namespace dialect {

// print_state: the names in this order, the first after `sep`, the others after a comma.
inline void conntrack_append_states(std::string& out, unsigned int mask, const char* sep) {
  static const struct {
    unsigned int bit;
    const char* name;
  } names[] = {{XT_CONNTRACK_STATE_INVALID, "INVALID"},
               {XT_CONNTRACK_STATE_BIT(IP_CT_NEW), "NEW"},
               {XT_CONNTRACK_STATE_BIT(IP_CT_RELATED), "RELATED"},
               {XT_CONNTRACK_STATE_BIT(IP_CT_ESTABLISHED), "ESTABLISHED"},
               {XT_CONNTRACK_STATE_UNTRACKED, "UNTRACKED"},
               {XT_CONNTRACK_STATE_SNAT, "SNAT"},
               {XT_CONNTRACK_STATE_DNAT, "DNAT"}};
  for (const auto& n : names) {
    if (mask & n.bit) {
      out += sep;
      out += n.name;
      sep = ",";
    }
  }
}

// conntrack_dump: each item with a leading space, as iptables prints them. `prefix` is "--"
// for iptables-save and "" for -L. Without -n a zero address prints `anywhere`; iptkit does
// no reverse DNS, so other addresses stay numeric.
inline void conntrack_dump(const xt_conntrack_mtinfo3& info, const char* prefix, Family family, bool numeric,
                           std::string& out) {
  auto item = [&](uint16_t flag, const char* name) {
    if (info.invert_flags & flag) out += " !";
    out += ' ';
    out += prefix;
    out += name;
  };
  auto addr = [&](const nf_inet_addr& a, const nf_inet_addr& m) {
    out += ' ';
    bool zero = family == Family::ipv6 ? (a.all[0] | a.all[1] | a.all[2] | a.all[3]) == 0 : a.ip == 0;
    if (!numeric && zero) {
      out += "anywhere";
      return;
    }
    format_address(family, &a, out);
    format_mask(family, &m, out);
  };
  auto ports = [&](uint16_t lo, uint16_t hi) {
    out += ' ';
    append_u64(out, lo);
    if (hi != 0 && lo != hi) {
      out += ':';
      append_u64(out, hi);
    }
  };
  if (info.match_flags & XT_CONNTRACK_STATE) {
    item(XT_CONNTRACK_STATE, info.match_flags & XT_CONNTRACK_STATE_ALIAS ? "state" : "ctstate");
    conntrack_append_states(out, info.state_mask, " ");
  }
  if (info.match_flags & XT_CONNTRACK_PROTO) {
    item(XT_CONNTRACK_PROTO, "ctproto ");
    append_u64(out, info.l4proto);
  }
  if (info.match_flags & XT_CONNTRACK_ORIGSRC) {
    item(XT_CONNTRACK_ORIGSRC, "ctorigsrc");
    addr(info.origsrc_addr, info.origsrc_mask);
  }
  if (info.match_flags & XT_CONNTRACK_ORIGDST) {
    item(XT_CONNTRACK_ORIGDST, "ctorigdst");
    addr(info.origdst_addr, info.origdst_mask);
  }
  if (info.match_flags & XT_CONNTRACK_REPLSRC) {
    item(XT_CONNTRACK_REPLSRC, "ctreplsrc");
    addr(info.replsrc_addr, info.replsrc_mask);
  }
  if (info.match_flags & XT_CONNTRACK_REPLDST) {
    item(XT_CONNTRACK_REPLDST, "ctrepldst");
    addr(info.repldst_addr, info.repldst_mask);
  }
  if (info.match_flags & XT_CONNTRACK_ORIGSRC_PORT) {
    item(XT_CONNTRACK_ORIGSRC_PORT, "ctorigsrcport");
    ports(info.origsrc_port, info.origsrc_port_high);
  }
  if (info.match_flags & XT_CONNTRACK_ORIGDST_PORT) {
    item(XT_CONNTRACK_ORIGDST_PORT, "ctorigdstport");
    ports(info.origdst_port, info.origdst_port_high);
  }
  if (info.match_flags & XT_CONNTRACK_REPLSRC_PORT) {
    item(XT_CONNTRACK_REPLSRC_PORT, "ctreplsrcport");
    ports(info.replsrc_port, info.replsrc_port_high);
  }
  if (info.match_flags & XT_CONNTRACK_REPLDST_PORT) {
    item(XT_CONNTRACK_REPLDST_PORT, "ctrepldstport");
    ports(info.repldst_port, info.repldst_port_high);
  }
  if (info.match_flags & XT_CONNTRACK_STATUS) {
    item(XT_CONNTRACK_STATUS, "ctstatus");
    // print_status
    static const struct {
      unsigned int bit;
      const char* name;
    } names[] = {{IPS_EXPECTED, "EXPECTED"},
                 {IPS_SEEN_REPLY, "SEEN_REPLY"},
                 {IPS_ASSURED, "ASSURED"},
                 {IPS_CONFIRMED, "CONFIRMED"}};
    const char* sep = " ";
    for (const auto& n : names) {
      if (info.status_mask & n.bit) {
        out += sep;
        out += n.name;
        sep = ",";
      }
    }
    if (info.status_mask == 0) out += " NONE";
  }
  if (info.match_flags & XT_CONNTRACK_EXPIRES) {
    item(XT_CONNTRACK_EXPIRES, "ctexpire ");
    append_u64(out, info.expires_min);
    if (info.expires_max != info.expires_min) {
      out += ':';
      append_u64(out, info.expires_max);
    }
  }
  if (info.match_flags & XT_CONNTRACK_DIRECTION) {
    out += ' ';
    out += prefix;
    out += info.invert_flags & XT_CONNTRACK_DIRECTION ? "ctdir REPLY" : "ctdir ORIGINAL";
  }
}

}  // namespace dialect
}  // namespace iptkit
