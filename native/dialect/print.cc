// iptables-save and `iptables -L` printing of one rule (see print.h).
#include "print.h"

#include <array>
#include <cstring>

#include "address.h"
#include "protocols.h"

namespace iptkit {
namespace dialect {
namespace {

constexpr char kHex[] = "0123456789abcdef";

// `-m NAME --iptkit-opaque REV:HEX`: the data area byte for byte, which iptables-restore and
// iptkit's parser both refuse (see parse.h).
void save_opaque(const XtInstance& x, bool is_target, std::string& out) {
  out += is_target ? "-j " : "-m ";
  out += x.name;
  out += " --iptkit-opaque ";
  append_u64(out, x.revision);
  out += ':';
  if (x.data.empty()) out += '-';
  for (uint8_t b : x.data) {
    out += kHex[b >> 4];
    out += kHex[b & 15];
  }
}

// iptables-save omits a lone `+` (every interface); `! -i +` (no interface) is printed as
// iptables-nft-save prints it.
void save_iface(const char* name, const unsigned char* mask, bool invert, const char* opt, std::string& out) {
  size_t at = out.size();
  out += invert ? " ! " : " ";
  out += opt;
  out += ' ';
  if (!format_interface_save(name, mask, invert, out)) out.resize(at);
}

bool mask_zero(const uint8_t* mask, Family family) {
  size_t n = family == Family::ipv4 ? 4 : 16;
  for (size_t i = 0; i < n; i++) {
    if (mask[i]) return false;
  }
  return true;
}

void save_addr(const uint8_t* addr, const uint8_t* mask, bool invert, const char* opt, Family family,
               std::string& out) {
  if (!invert && mask_zero(mask, family)) return;
  out += invert ? " ! " : " ";
  out += opt;
  out += ' ';
  format_address_save(family, addr, mask, out);
}

void pad_right(std::string& out, std::string_view text, size_t width) {
  out += text;  // printf("%-Ns") pads by bytes
  if (text.size() < width) out.append(width - text.size(), ' ');
}

void pad_left(std::string& out, std::string_view text, size_t width) {
  if (text.size() < width) out.append(width - text.size(), ' ');
  out += text;
}

std::string_view target_column_name(const Rule& rule) {
  switch (rule.target_kind) {
    case TargetKind::kVerdict:
    case TargetKind::kJump:
    case TargetKind::kGoto:
      return rule.target_name;
    case TargetKind::kExtension:
      // The kernel's name, as iptables -L shows it (`-j NOTRACK` lists as CT).
      return rule.target.name;
    case TargetKind::kNone:
      break;
  }
  return {};
}

// The in/out column: "!NAME", NAME, or `*` (-n) / `any` for no interface.
void iface_column(const char* name, bool invert, bool numeric, bool lead, std::string& out) {
  std::string text;
  if (invert) {
    text = "!";
    text += name[0] ? std::string(name, strnlen(name, IFNAMSIZ)) : std::string("+");
  } else if (name[0]) {
    text.assign(name, strnlen(name, IFNAMSIZ));
  } else {
    text = numeric ? "*" : "any";
  }
  if (lead) out += ' ';
  pad_right(out, text, 6);
  out += ' ';
}

// protocol_text, with the names of 0-255 looked up once (protocol_name's strings live as
// long as the process).
void append_protocol(uint16_t num, std::string& out) {
  static const std::array<const char*, 256> names = [] {
    std::array<const char*, 256> a{};
    for (uint16_t n = 0; n < 256; n++) a[n] = protocol_name(n);
    return a;
  }();
  const char* name = num < 256 ? names[num] : protocol_name(num);
  if (name) out += name;
  else append_u64(out, num);
}

}  // namespace

void save_rule(const Rule& rule, Family family, std::string& out) {
  const IpPart& ip = rule.ip;
  save_addr(ip.src, ip.smsk, ip.invflags & kInvSrc, "-s", family, out);
  save_addr(ip.dst, ip.dmsk, ip.invflags & kInvDst, "-d", family, out);
  save_iface(ip.iniface, ip.iniface_mask, ip.invflags & kInvIn, "-i", out);
  save_iface(ip.outiface, ip.outiface_mask, ip.invflags & kInvOut, "-o", out);
  if (ip.proto != 0 || (ip.invflags & kInvProto)) {
    out += (ip.invflags & kInvProto) ? " ! -p " : " -p ";
    append_protocol(ip.proto, out);
  }
  if (ip.frag && family == Family::ipv4) out += (ip.invflags & kInvFrag) ? " ! -f" : " -f";
  PrintCtx ctx{family, true, ip.proto};
  for (const XtInstance& m : rule.matches) {
    out += ' ';
    if (m.ext) m.ext->save(m.data.data(), m.data.size(), m.revision, ctx, out);
    else save_opaque(m, false, out);
  }
  switch (rule.target_kind) {
    case TargetKind::kVerdict:
    case TargetKind::kJump:
      out += " -j ";
      out += rule.target_name;
      break;
    case TargetKind::kGoto:
      out += " -g ";
      out += rule.target_name;
      break;
    case TargetKind::kExtension:
      out += ' ';
      if (rule.target.ext) rule.target.ext->save(rule.target.data.data(), rule.target.data.size(), rule.target.revision, ctx, out);
      else save_opaque(rule.target, true, out);
      break;
    case TargetKind::kNone:
      break;
  }
}

void format_count(uint64_t n, bool exact, bool notable, std::string& out) {
  std::string digits;
  if (exact || n <= 99999) {
    append_u64(digits, n);
    if (notable) out += digits;
    else pad_left(out, digits, exact ? 8 : 5);
    out += ' ';
    return;
  }
  // Unsigned 64-bit arithmetic as iptables does it (so 2^64-1 wraps on the +500).
  for (const char* unit : {"K", "M", "G"}) {
    n = (n + 500) / 1000;
    if (n <= 9999) {
      append_u64(digits, n);
      if (notable) out += digits;
      else pad_left(out, digits, 4);
      out += unit;
      out += ' ';
      return;
    }
  }
  n = (n + 500) / 1000;
  append_u64(digits, n);
  if (notable) out += digits;
  else pad_left(out, digits, 4);
  out += "T ";
}

void list_header(std::string_view chain, std::string_view policy, uint64_t packets, uint64_t bytes,
                 uint32_t references, const ListOptions& opts, std::string& out) {
  out += "Chain ";
  out += chain;
  if (!policy.empty()) {
    out += " (policy ";
    out += policy;
    if (opts.verbose) {
      out += ' ';
      format_count(packets, opts.exact, true, out);
      out += "packets, ";
      format_count(bytes, opts.exact, true, out);
      out += "bytes";
    }
    out += ")\n";
  } else {
    out += " (";
    append_u64(out, references);
    out += " references)\n";
  }
  if (opts.line_numbers) {
    pad_right(out, "num", 4);
    out += ' ';
  }
  if (opts.verbose) {
    if (opts.exact) {
      pad_left(out, "pkts", 8);
      out += ' ';
      pad_left(out, "bytes", 10);
      out += ' ';
    } else {
      pad_left(out, "pkts", 5);
      out += ' ';
      pad_left(out, "bytes", 5);
      out += ' ';
    }
  }
  pad_right(out, "target", 9);
  out += "  prot opt";
  if (opts.verbose) {
    out += ' ';
    pad_right(out, "in", 6);
    out += ' ';
    pad_right(out, "out", 6);
    out += ' ';
  }
  out += ' ';
  pad_right(out, "source", 19);
  out += "  ";
  pad_right(out, "destination", 19);
  out += " \n";
}

void list_rule(const Rule& rule, uint32_t num, Family family, const ListOptions& opts, std::string& out) {
  const IpPart& ip = rule.ip;
  if (opts.line_numbers) {
    std::string n;
    append_u64(n, num);
    pad_right(out, n, 4);
    out += ' ';
  }
  if (opts.verbose) {
    format_count(rule.packets, opts.exact, false, out);
    format_count(rule.bytes, opts.exact, false, out);
  }
  pad_right(out, target_column_name(rule), 9);
  out += ' ';
  // print_rule_details: `%-4s ` — a name longer than four still gets its space.
  out += (ip.invflags & kInvProto) ? '!' : ' ';
  pad_right(out, protocol_text(ip.proto), 4);
  out += ' ';
  out += !ip.frag ? "-- " : (ip.invflags & kInvFrag) ? "!f " : "-f ";
  if (opts.verbose) {
    iface_column(ip.iniface, ip.invflags & kInvIn, opts.numeric, true, out);
    iface_column(ip.outiface, ip.invflags & kInvOut, opts.numeric, false, out);
  }
  std::string col;
  out += (ip.invflags & kInvSrc) ? '!' : ' ';
  format_address_list(family, ip.src, ip.smsk, opts.numeric, col);
  pad_right(out, col, 19);
  out += ' ';
  col.clear();
  out += (ip.invflags & kInvDst) ? '!' : ' ';
  format_address_list(family, ip.dst, ip.dmsk, opts.numeric, col);
  pad_right(out, col, 19);
  out += ' ';
  if (rule.target_kind == TargetKind::kGoto) out += "[goto] ";
  PrintCtx ctx{family, opts.numeric, ip.proto};
  for (const XtInstance& m : rule.matches) {
    if (!m.ext) {
      // iptables would print the kernel module's own text; iptkit has no module for it.
      out += ' ';
      out += m.name;
      out += " [opaque rev ";
      append_u64(out, m.revision);
      out += ']';
      continue;
    }
    size_t before = out.size();
    out += ' ';
    m.ext->list(m.data.data(), m.data.size(), m.revision, ctx, out);
    if (out.size() == before + 1) out.resize(before);
  }
  if (rule.target_kind == TargetKind::kExtension) {
    const XtInstance& t = rule.target;
    if (!t.ext) {
      out += " [opaque target ";
      out += t.name;
      out += " rev ";
      append_u64(out, t.revision);
      out += ']';
    } else {
      size_t before = out.size();
      out += ' ';
      t.ext->list(t.data.data(), t.data.size(), t.revision, ctx, out);
      if (out.size() == before + 1) out.resize(before);
    }
  }
  out += '\n';
}

}  // namespace dialect
}  // namespace iptkit
