// The NAT targets' dialect, shared by SNAT/DNAT (xt_nat), MASQUERADE and REDIRECT: struct
// nf_nat_ipv4_multi_range_compat (IPv4 revision 0), struct nf_nat_range (revision 1, and
// IPv6 MASQUERADE/REDIRECT revision 0) and struct nf_nat_range2 (revision 2), all from
// linux/netfilter/nf_nat.h, as libxt_NAT.c of iptables 1.8.9 reads and prints them:
// parse_to / parse_ports into a struct nf_nat_range2, written in the revision's layout, and
// __NAT_print for iptables-save and `iptables -L`.
#pragma once

#include <arpa/inet.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/x_tables.h>
#include <netinet/in.h>

#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "../dialect/extension.h"
#include "../dialect/ports.h"
#include "../dialect/xtoptions.h"

namespace iptkit {
namespace nat {

enum class Layout { compat, range, range2 };

inline size_t struct_size(Layout l) {
  switch (l) {
    case Layout::compat: return sizeof(nf_nat_ipv4_multi_range_compat);
    case Layout::range: return sizeof(nf_nat_range);
    case Layout::range2: return sizeof(nf_nat_range2);
  }
  return 0;
}

// The ports are __be16 whatever the protocol (tcp.port, udp.port, icmp.id, gre.key).
inline uint16_t proto_value(const nf_conntrack_man_proto& p) { return ntohs(p.all); }
inline void set_proto(nf_conntrack_man_proto& p, uint64_t v) { p.all = htons(static_cast<uint16_t>(v)); }

// The layout of a NAT target's struct by revision: revision 0 is the IPv4 compat struct for
// SNAT/DNAT/MASQUERADE/REDIRECT but struct nf_nat_range for IPv6 MASQUERADE/REDIRECT.
inline Layout layout_of(uint8_t revision, Family family) {
  if (revision >= 2) return Layout::range2;
  if (revision == 1 || family == Family::ipv6) return Layout::range;
  return Layout::compat;
}

template <Family F>
size_t size_as(uint8_t revision) {
  if (revision > 2) return 0;
  return XT_ALIGN(struct_size(layout_of(revision, F)));
}

// Any layout as the nf_nat_range2 iptables prints from (RANGE2_INIT_FROM_IPV4_MRC /
// RANGE2_INIT_FROM_RANGE: what the older structs lack stays zero).
inline nf_nat_range2 read_range(Layout layout, const void* data, size_t len) {
  constexpr size_t kMax = sizeof(nf_nat_range2) > sizeof(nf_nat_ipv4_multi_range_compat)
                              ? sizeof(nf_nat_range2)
                              : sizeof(nf_nat_ipv4_multi_range_compat);
  unsigned char buf[kMax]{};  // zeroed: a short data area reads as zeros
  std::memcpy(buf, data, len < struct_size(layout) ? len : struct_size(layout));
  nf_nat_range2 r{};
  if (layout == Layout::compat) {
    nf_nat_ipv4_multi_range_compat mr;
    std::memcpy(&mr, buf, sizeof mr);
    r.flags = mr.range[0].flags;
    r.min_addr.ip = mr.range[0].min_ip;
    r.max_addr.ip = mr.range[0].max_ip;
    r.min_proto = mr.range[0].min;
    r.max_proto = mr.range[0].max;
    return r;
  }
  std::memcpy(&r, buf, struct_size(layout));  // nf_nat_range is nf_nat_range2 without base_proto
  return r;
}

// The range in the layout's struct. The compat struct holds one range (SNAT_fcheck /
// DNAT_fcheck set rangesize to 1); the older structs have no room for base_proto, so a
// `/BASE` that SNAT or MASQUERADE accept keeps only its flag.
inline void write_range(Layout layout, const nf_nat_range2& r, void* data) {
  if (layout == Layout::compat) {
    nf_nat_ipv4_multi_range_compat mr{};
    mr.rangesize = 1;
    mr.range[0].flags = r.flags;
    mr.range[0].min_ip = r.min_addr.ip;
    mr.range[0].max_ip = r.max_addr.ip;
    mr.range[0].min = r.min_proto;
    mr.range[0].max = r.max_proto;
    std::memcpy(data, &mr, sizeof mr);
    return;
  }
  std::memcpy(data, &r, struct_size(layout));
}

// libxt_NAT's `portok`: the protocols whose ports a NAT target may map (ICMP's id included).
inline bool ports_allowed(const dialect::ParseCtx& ctx) {
  switch (ctx.protocol) {
    case IPPROTO_TCP: case IPPROTO_UDP: case IPPROTO_SCTP: case IPPROTO_DCCP: case IPPROTO_ICMP: return true;
    default: return false;
  }
}

// parse_ports: `PORT`, `PORT-PORT` or `PORT-PORT/BASE` (a service name for PORT or BASE).
inline bool parse_ports(const std::string& arg, const dialect::ParseCtx& ctx, const std::string& token,
                        nf_nat_range2& r) {
  if (!ports_allowed(ctx)) {
    return ctx.fail(token + " " + arg + ": need -p tcp, udp, sctp or dccp with a port specification", token,
                    "-p tcp|udp|sctp|dccp");
  }
  r.flags |= NF_NAT_RANGE_PROTO_SPECIFIED;
  uint64_t port = 0;
  size_t end = 0;
  if (!dialect::xtables_strtoul(arg, 0, UINT16_MAX, port, &end)) {
    // xtables_service_to_port(arg, NULL): any protocol's service, the name a C string.
    uint16_t svc = 0;
    if (!dialect::service_to_port(std::string_view(arg.c_str()), nullptr, svc)) {
      return ctx.fail(token + ": port `" + arg + "' not valid (0-65535 or a service name)", token, "a port");
    }
    port = svc;
    end = arg.size();
  }
  if (end == arg.size()) {
    set_proto(r.min_proto, port);
    set_proto(r.max_proto, port);
    return true;
  }
  if (arg[end] == ':') {
    return ctx.fail(token + ": invalid port:port syntax in `" + arg + "' - use dash", token, "PORT-PORT");
  }
  if (arg[end] != '-') return ctx.fail(token + ": garbage after port value: `" + arg.substr(end) + "'", token);
  // The upper end of a range is a number, never a service name.
  std::string max_arg = arg.substr(end + 1);
  uint64_t maxport = 0;
  if (!dialect::xtables_strtoul(max_arg, 0, UINT16_MAX, maxport, &end)) {
    return ctx.fail(token + ": port `" + max_arg + "' not valid", token, "a port");
  }
  if (maxport < port) return ctx.fail(token + ": port range `" + arg + "' is reversed", token, "LOW-HIGH");
  set_proto(r.min_proto, port);
  set_proto(r.max_proto, maxport);
  if (end == max_arg.size()) return true;
  if (max_arg[end] != '/') {
    return ctx.fail(token + ": garbage after port range: `" + max_arg.substr(end) + "'", token);
  }
  // The base: a number 1-65535 before anything else (what follows it is ignored, as in
  // iptables), else a service name.
  std::string base_arg = max_arg.substr(end + 1);
  uint64_t base = 0;
  size_t base_end = 0;
  // `/0`: the flag without a base, as a struct without room for one holds it and the printer
  // shows it; only iptkit's own text may say so (iptables refuses a base of 0).
  if (ctx.own_text && base_arg == "0") {
    r.flags |= NF_NAT_RANGE_PROTO_OFFSET;
    return true;
  }
  if (!dialect::xtables_strtoul(base_arg, 1, UINT16_MAX, base, &base_end)) {
    uint16_t svc = 0;
    if (!dialect::service_to_port(std::string_view(base_arg.c_str()), nullptr, svc)) {
      return ctx.fail(token + ": port `" + base_arg + "' not valid (1-65535 or a service name)", token, "a port");
    }
    base = svc;
  }
  r.flags |= NF_NAT_RANGE_PROTO_OFFSET;
  set_proto(r.base_proto, base);
  return true;
}

// parse_to: `[ADDR[-ADDR]][:PORT[-PORT[/BASE]]]`, IPv6 addresses in `[…]` when ports follow.
inline bool parse_to(const std::string& orig, const dialect::ParseCtx& ctx, const std::string& token,
                     nf_nat_range2& r) {
  const bool v6 = ctx.family == Family::ipv6;
  std::string arg = orig.substr(0, strnlen(orig.c_str(), orig.size()));  // argv is a C string
  size_t start = 0, stop = std::string::npos, colon = std::string::npos;
  size_t open = arg.find('[');
  if (open == std::string::npos) {
    // One colon is the port; more make an IPv6 address without one.
    colon = arg.find(':');
    if (colon != std::string::npos && arg.find(':', colon + 1) != std::string::npos) colon = std::string::npos;
    stop = colon;
  } else {
    start = open + 1;
    stop = arg.find(']', start);
    if (stop == std::string::npos || !v6) {
      return ctx.fail(token + " " + orig + ": invalid address format", token, "ADDR[-ADDR][:PORT[-PORT]]");
    }
    colon = arg.find(':', stop + 1);
  }
  if (colon != std::string::npos) {
    if (!parse_ports(arg.substr(colon + 1), ctx, token, r)) return false;
    // `:PORT` and `[]:PORT` map no address. iptables tests "colon at 0 or 2", which also
    // takes `ab:PORT` (any two characters) as ports only.
    if (colon == 0 || colon == 2) return true;
  }
  r.flags |= NF_NAT_RANGE_MAP_IPS;
  std::string addrs = arg.substr(start, stop == std::string::npos ? std::string::npos : stop - start);
  size_t dash = addrs.find('-');
  std::string lo = addrs.substr(0, dash);
  const int af = v6 ? AF_INET6 : AF_INET;
  const char* expected = v6 ? "an IPv6 address" : "an IPv4 address";
  if (inet_pton(af, lo.c_str(), &r.min_addr) != 1) {
    return ctx.fail(token + ": bad IP address \"" + lo + "\"", token, expected);
  }
  if (dash != std::string::npos) {
    std::string hi = addrs.substr(dash + 1);
    if (inet_pton(af, hi.c_str(), &r.max_addr) != 1) {
      return ctx.fail(token + ": bad IP address \"" + hi + "\"", token, expected);
    }
  } else {
    r.max_addr = r.min_addr;
  }
  return true;
}

// sprint_range: `172.19.0.2:443`, `[fd00::2]:443`, `:80-90/100`.
inline void sprint_range(const nf_nat_range2& r, Family family, std::string& out) {
  const bool brackets = family == Family::ipv6 && (r.flags & NF_NAT_RANGE_PROTO_SPECIFIED);
  const int af = family == Family::ipv6 ? AF_INET6 : AF_INET;
  char buf[INET6_ADDRSTRLEN];
  if (r.flags & NF_NAT_RANGE_MAP_IPS) {
    if (brackets) out += '[';
    out += inet_ntop(af, &r.min_addr, buf, sizeof buf);
    if (std::memcmp(&r.min_addr, &r.max_addr, sizeof r.min_addr) != 0) {
      out += '-';
      out += inet_ntop(af, &r.max_addr, buf, sizeof buf);
    }
    if (brackets) out += ']';
  }
  if (r.flags & NF_NAT_RANGE_PROTO_SPECIFIED) {
    out += ':';
    dialect::append_u64(out, proto_value(r.min_proto));
    if (r.max_proto.all != r.min_proto.all) {
      out += '-';
      dialect::append_u64(out, proto_value(r.max_proto));
    }
    if (r.flags & NF_NAT_RANGE_PROTO_OFFSET) {
      out += '/';
      dialect::append_u64(out, proto_value(r.base_proto));
    }
  }
}

// __NAT_print without its leading space: the range after `rangeopt`, then the flag words
// after `flag_pfx` ("--" in save, "" in the listing). `skip_colon` drops the colon of a
// ports-only range (MASQUERADE, REDIRECT).
inline void print_nat(const nf_nat_range2& r, Family family, const char* rangeopt, const char* flag_pfx,
                      bool skip_colon, std::string& out) {
  std::string range;
  sprint_range(r, family, range);
  const size_t begin = out.size();
  auto word = [&](std::string_view w) {
    if (out.size() > begin) out += ' ';
    out += w;
  };
  if (!range.empty()) {
    word(rangeopt);
    out.append(skip_colon && range[0] == ':' ? range.substr(1) : range);
  }
  if (r.flags & NF_NAT_RANGE_PROTO_RANDOM) word(std::string(flag_pfx) + "random");
  if (r.flags & NF_NAT_RANGE_PROTO_RANDOM_FULLY) word(std::string(flag_pfx) + "random-fully");
  if (r.flags & NF_NAT_RANGE_PERSISTENT) word(std::string(flag_pfx) + "persistent");
}

// One NAT target module of one family: what differs between DNAT, SNAT, MASQUERADE and
// REDIRECT in libxt_NAT.c.
struct Target {
  const char* name;                 // "DNAT"
  Family family;
  uint8_t revision;                 // the one written
  const dialect::OptionSpec* options;
  const char* save_rangeopt;        // "--to-destination "
  const char* list_rangeopt;        // "to:"
  bool skip_colon;
  bool refuse_offset;               // DNAT_fcheck (REDIRECT): no /BASE in its structs
  int mandatory;                    // index of the XTOPT_MAND option, or -1
};

// __NAT_parse for each option in input order, then the final checks (x6_fcheck, XTOPT_MAND).
template <const Target* T>
bool parse_as(const std::vector<dialect::ParsedOption>& options, const dialect::ParseCtx& ctx, void* data) {
  namespace xo = dialect::xtopt;
  nf_nat_range2 r{};
  uint64_t seen = 0;
  const std::string* ports_token = nullptr;
  for (const dialect::ParsedOption& o : options) {
    if (!xo::take(o, T->options, seen, T->name, ctx)) return false;
    std::string_view n = o.spec->name;
    if (n == "to-destination" || n == "to-source") {
      if (!parse_to(o.value, ctx, o.token, r)) return false;
      ports_token = &o.token;
    } else if (n == "to-ports") {
      const std::string arg = o.value.substr(0, strnlen(o.value.c_str(), o.value.size()));  // a C string
      if (!parse_ports(arg, ctx, o.token, r)) return false;
      ports_token = &o.token;
    } else if (n == "random") {
      r.flags |= NF_NAT_RANGE_PROTO_RANDOM;
    } else if (n == "random-fully") {
      r.flags |= NF_NAT_RANGE_PROTO_RANDOM_FULLY;
    } else if (n == "persistent") {
      r.flags |= NF_NAT_RANGE_PERSISTENT;
    }
  }
  if (T->refuse_offset && (r.flags & NF_NAT_RANGE_PROTO_OFFSET)) {
    return ctx.fail("Shifted portmap ranges not supported with this kernel",
                    *ports_token, "PORT[-PORT]");
  }
  if (T->mandatory >= 0 && !xo::mandatory(seen, T->options, static_cast<size_t>(T->mandatory), T->name, ctx)) {
    return false;
  }
  write_range(layout_of(T->revision, T->family), r, data);
  return true;
}

template <const Target* T>
void save_as(const void* data, size_t len, uint8_t revision, const dialect::PrintCtx&, std::string& out) {
  out += "-j ";
  out += T->name;
  std::string text;
  print_nat(read_range(layout_of(revision, T->family), data, len), T->family, T->save_rangeopt, "--",
            T->skip_colon, text);
  if (!text.empty()) out += ' ' + text;
}

template <const Target* T>
void list_as(const void* data, size_t len, uint8_t revision, const dialect::PrintCtx&, std::string& out) {
  print_nat(read_range(layout_of(revision, T->family), data, len), T->family, T->list_rangeopt, "", T->skip_colon,
            out);
}

}  // namespace nat
}  // namespace iptkit
