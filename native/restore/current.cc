// A read's wire, as the table a restore plans against (see current.h).
#include "current.h"

#include <cerrno>

namespace iptkit::restore {
namespace {

bool decimal(std::string_view s, uint64_t& out) {
  if (s.empty() || s.size() > 20) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  out = v;
  return true;
}

void split(std::string_view line, std::vector<std::string_view>& f) {
  f.clear();
  size_t pos = 0;
  for (;;) {
    size_t tab = line.find('\t', pos);
    if (tab == std::string_view::npos) {
      f.push_back(line.substr(pos));
      return;
    }
    f.push_back(line.substr(pos, tab - pos));
    pos = tab + 1;
  }
}

}  // namespace

OpError current_from_read(std::string&& wire, const std::vector<uint64_t>& counters,
                          const std::vector<uint64_t>& handles, CurrentTable& out) {
  out.wire = std::move(wire);
  out.chains.clear();
  out.exists = true;
  const std::string_view text = out.wire;
  auto bad = [&](const std::string& what) { return make_error(EPROTO, "read", "a read of table " + out.name + ": " + what, out.name); };
  std::vector<std::string_view> f;
  size_t pos = 0, rule = 0;
  auto next_line = [&](std::string_view& line) {
    if (pos >= text.size()) return false;
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    line = text.substr(pos, nl - pos);
    pos = nl + 1;
    return true;
  };
  std::string_view line;
  if (!next_line(line)) return bad("no table record");
  split(line, f);
  if (f.size() < 2 || f[0] != "table") return bad("no table record");
  out.name = std::string(f[1]);
  while (next_line(line)) {
    if (line.empty() && pos >= text.size()) break;
    split(line, f);
    uint64_t n = 0;
    CurrentChain& c = out.chains.emplace_back();
    if (f.size() == 6 && f[0] == "chain") {
      c.builtin = true;
      c.policy = std::string(f[2]);
      if (!decimal(f[3], c.packets) || !decimal(f[4], c.bytes) || !decimal(f[5], n)) return bad("bad chain record");
    } else if (f.size() == 5 && f[0] == "chain" && f[2] == "-") {
      if (!decimal(f[4], n)) return bad("bad chain record");
    } else {
      return bad("expected a chain record, got '" + std::string(line.substr(0, 40)) + "'");
    }
    c.name = std::string(f[1]);
    c.rules.resize(n);
    for (CurrentRule& r : c.rules) {
      if (!next_line(r.text)) return bad("chain " + c.name + " has fewer rules than it says");
      if (2 * rule + 1 >= counters.size()) return bad("counters missing");
      r.packets = counters[2 * rule];
      r.bytes = counters[2 * rule + 1];
      if (!handles.empty()) {
        if (rule >= handles.size()) return bad("handles missing");
        r.handle = handles[rule];
      }
      rule++;
    }
  }
  return {};
}

}  // namespace iptkit::restore
