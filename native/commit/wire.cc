// The commit wire, parsed (see wire.h).
#include "wire.h"

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "../dialect/parse.h"  // parse_rule
#include "../dialect/restore.h"

namespace iptkit::commit {
namespace {

// Plain decimal, as the frame writes numbers; false for anything else or above `max`.
bool decimal(std::string_view s, uint64_t max, uint64_t& out) {
  if (s.empty() || s.size() > 20) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    uint64_t d = static_cast<uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10) return false;
    v = v * 10 + d;
  }
  if (v > max) return false;
  out = v;
  return true;
}

// `keep\t<decimal>`: most of a commit that changes little, read without splitting the line.
bool fast_keep(std::string_view line, uint64_t& at) {
  constexpr std::string_view kKeep = "keep\t";
  if (line.size() <= kKeep.size() || line.size() > kKeep.size() + 19 || line.compare(0, kKeep.size(), kKeep) != 0) {
    return false;
  }
  uint64_t v = 0;
  for (size_t i = kKeep.size(); i < line.size(); i++) {
    unsigned d = static_cast<unsigned char>(line[i]) - '0';
    if (d > 9) return false;
    v = v * 10 + d;  // at most 19 digits: no overflow
  }
  at = v;
  return true;
}

// The tab-separated fields of a record; the last of `max` fields takes the rest of the line.
void split_fields(std::string_view line, std::vector<std::string_view>& out, size_t max) {
  out.clear();
  size_t pos = 0;
  while (out.size() + 1 < max) {
    size_t tab = line.find('\t', pos);
    if (tab == std::string_view::npos) break;
    out.push_back(line.substr(pos, tab - pos));
    pos = tab + 1;
  }
  out.push_back(line.substr(pos));
}

// The texts the wire's `lines=N` chain records declare, all told (a malformed count is not
// counted: the parse then says what is wrong with it).
size_t declared_lines(std::string_view text) {
  constexpr std::string_view kChain = "\nchain\t", kLines = "\tlines=";
  size_t n = 0;
  for (size_t at = text.find(kChain); at != std::string_view::npos; at = text.find(kChain, at)) {
    size_t end = std::min(text.find('\n', at + 1), text.size());
    std::string_view record = text.substr(at + 1, end - at - 1);
    at = end;  // the next record may be a chain record too
    size_t k = record.find(kLines);
    if (k == std::string_view::npos) continue;
    std::string_view count = record.substr(k + kLines.size());
    count = count.substr(0, count.find('\t'));
    uint64_t v = 0;
    if (decimal(count, UINT32_MAX, v)) n += v;
  }
  return std::min(n, text.size());  // a text is a line at least: no more than the wire can hold
}

class Parser {
 public:
  Parser(Family family, TablePlan& out) : family_(family), out_(out) {}

  OpError run(std::string_view text) {
    size_t rules = 0;
    for (size_t at = text.find("\nrule\t"); at != std::string_view::npos; at = text.find("\nrule\t", at + 6)) rules++;
    out_.rules.reserve(rules);
    // A sink's room is made once, for the texts of lines= chains too (restore/held.h plans
    // them after the parse): grown later, a legacy entry arena left its first block behind.
    if (out_.sink) out_.sink->reserve(rules + declared_lines(text));
    size_t pos = 0;
    while (pos < text.size() && !error_) {
      size_t nl = text.find('\n', pos);
      if (nl == std::string_view::npos) nl = text.size();
      line_++;
      text_left_ = text.size() - pos;
      if (pending_lines_ > 0) {
        chain()->lines.push_back(text.substr(pos, nl - pos));  // a text, whatever it holds
        pending_lines_--;
      } else if (nl > pos) {
        record(text.substr(pos, nl - pos));
      }
      pos = nl + 1;
    }
    if (!error_ && pending_lines_ > 0) fail("chain record: lines=" + std::to_string(chain()->lines.size() + pending_lines_) + " but the wire ends after " + std::to_string(chain()->lines.size()));
    if (!error_ && out_.name.empty()) fail("an empty table string (the first record must be `table <name>`)");
    return error_;
  }

 private:
  ChainPlan* chain() { return out_.chains.empty() ? nullptr : &out_.chains.back(); }

  bool fail(const std::string& what) {
    if (error_) return false;
    std::string where = "table " + (out_.name.empty() ? std::string("?") : out_.name) + " wire line " + std::to_string(line_);
    std::string chain_name = chain() ? chain()->name : std::string();
    if (!chain_name.empty()) where += " (chain " + chain_name + ")";
    error_ = make_error(EINVAL, "commit", where + ": " + what, out_.name, chain_name);
    return false;
  }

  void record(std::string_view line) {
    uint64_t at = 0;
    if (chain() && !out_.append && !chain()->has_lines && fast_keep(line, at)) return keep(at);
    size_t tab = line.find('\t');
    std::string_view kind = line.substr(0, tab);
    if (out_.name.empty() && kind != "table") {
      fail("the first record must be `table <name>`, got '" + std::string(kind) + "'");
      return;
    }
    if (kind == "rule") return rule(line);
    split_fields(line, f_, SIZE_MAX);
    if (kind == "keeprun") {
      if (!need_chain(kind)) return;
      if (out_.append) return void(fail("keeprun record in an append=1 table (its chains keep all their rules)"));
      uint64_t count = 0;
      // A chain read holds far fewer rules than this (100,000 Docker ports are 300,000 rules);
      // a count past it names none of them, and would be gigabytes of items.
      constexpr uint64_t kMaxRun = uint64_t{1} << 22;
      if (f_.size() != 3 || !decimal(f_[1], kMaxRun, at) || !decimal(f_[2], kMaxRun, count) || count == 0) {
        return void(fail("keeprun record: needs the first position and a count, each at most " + std::to_string(kMaxRun) + " (got '" +
                         std::string(line.substr(kind.size())) + "')"));
      }
      // Nor do all the table's runs together: each kept rule is an item of the plan.
      if ((run_keeps_ += count) > kMaxRun) {
        return void(fail("keeprun record: the table's runs keep more than " + std::to_string(kMaxRun) + " rules"));
      }
      ChainPlan& c = *chain();
      c.items.reserve(c.items.size() + count);
      for (uint64_t k = 0; k < count; k++) c.items.push_back(Item{true, at + k, 0, true});
      c.keeps += count;
      return;
    }
    if (kind == "keep") {
      if (!need_chain(kind)) return;
      if (out_.append) return void(fail("keep record in an append=1 table (its chains keep all their rules)"));
      if (f_.size() != 2 || !decimal(f_[1], UINT64_MAX, at)) {
        return void(fail("keep record: needs one rule position or handle (got '" + std::string(line.substr(kind.size())) + "')"));
      }
      return keep(at);
    }
    if (kind == "chain") return chain_record();
    if (kind == "table") return table_record();
    if (!kind.empty() && kind[0] == '#') {
      return void(fail("a rule written by nft cannot be written back; keep it by its handle"));
    }
    fail("unknown record kind '" + std::string(kind) + "'");
  }

  bool need_chain(std::string_view kind) {
    if (!chain()) return fail(std::string(kind) + " record before any chain record");
    if (chain()->has_lines) return fail(std::string(kind) + " record in a chain given as lines=");
    return true;
  }

  void keep(uint64_t at) {
    ChainPlan& c = *chain();
    c.items.push_back(Item{true, at, 0});
    c.keeps++;
  }

  void table_record() {
    if (!out_.name.empty()) return void(fail("table record: a second table record"));
    if (f_.size() < 2 || f_[1].empty() || f_[1].find('=') != std::string_view::npos) {
      return void(fail("table record: needs the table name"));
    }
    std::string_view name = f_[1];
    bool family_given = false;
    for (size_t i = 2; i < f_.size(); i++) {
      std::string_view kv = f_[i];
      if (kv == "family=ipv4" || kv == "family=ipv6") {
        if (family_given) return void(fail("table record: family given twice"));
        family_given = true;
        if (kv != (family_ == Family::ipv6 ? "family=ipv6" : "family=ipv4")) {
          return void(fail("table record: " + std::string(kv) + " in an " +
                           (family_ == Family::ipv6 ? "ipv6" : "ipv4") + " commit"));
        }
      } else if (kv == "append=1" || kv == "append=0") {
        out_.append = kv == "append=1";
      } else {
        return void(fail("table record: unknown field '" + std::string(kv) + "'"));
      }
    }
    if (!family_given) return void(fail("table record: family= missing"));
    if (!dialect::builtin_chains(name)) {
      return void(fail("table record: '" + std::string(name) + "' is not an iptables table"));
    }
    out_.name = std::string(name);
  }

  void chain_record() {
    if (f_.size() < 2 || f_[1].empty() || f_[1].find('=') != std::string_view::npos) {
      return void(fail("chain record: needs the chain name"));
    }
    std::string name(f_[1]);
    if (!names_.insert(name).second) return void(fail("chain record: chain " + name + " is listed twice"));
    ChainPlan& c = out_.chains.emplace_back();
    c.name = std::move(name);
    c.line = line_;
    bool pkts = false, bytes = false;
    for (size_t i = 2; i < f_.size(); i++) {
      std::string_view kv = f_[i];
      size_t eq = kv.find('=');
      if (eq == std::string_view::npos) return void(fail("chain record: '" + std::string(kv) + "' is not a key=value field"));
      std::string_view key = kv.substr(0, eq), value = kv.substr(eq + 1);
      if (key == "lines") {
        uint64_t n = 0;
        if (c.has_lines || !decimal(value, UINT32_MAX, n)) return void(fail("chain record: lines=" + std::string(value) + " is not a rule count"));
        if (out_.append) return void(fail("chain record: lines= in an append=1 table (it only appends rules)"));
        c.has_lines = true;
        // No more than the wire can hold (a text is a line at least): a count in the billions
        // is refused when the wire ends, not first made room for.
        c.lines.reserve(std::min<uint64_t>(n, text_left_));
        pending_lines_ = n;
        continue;
      }
      bool known = key == "policy" || key == "pkts" || key == "bytes" || key == "was";
      if (!known) return void(fail("chain record: unknown key '" + std::string(key) + "'"));
      if (out_.append) {
        return void(fail("chain record: " + std::string(key) + "= in an append=1 table (it only appends rules)"));
      }
      bool& seen = key == "policy" ? seen_[0] : key == "pkts" ? seen_[1] : key == "bytes" ? seen_[2] : seen_[3];
      if (seen) return void(fail("chain record: key '" + std::string(key) + "' given twice"));
      seen = true;
      if (key == "policy") {
        if (value != "ACCEPT" && value != "DROP") return void(fail("chain record: policy=" + std::string(value) + " is not ACCEPT or DROP"));
        bool builtin = false;
        for (std::string_view b : *dialect::builtin_chains(out_.name)) builtin = builtin || b == c.name;
        if (!builtin) return void(fail("chain record: policy= on " + c.name + ", which is not a built-in chain of " + out_.name));
        c.policy = std::string(value);
      } else if (key == "was") {
        if (!decimal(value, UINT32_MAX, c.was)) return void(fail("chain record: was=" + std::string(value) + " is not a rule count"));
        c.has_was = true;
      } else {
        uint64_t& dst = key == "pkts" ? c.packets : c.bytes;
        if (!decimal(value, UINT64_MAX, dst)) {
          return void(fail("chain record: " + std::string(key) + "=" + std::string(value) + " is not a decimal 64-bit counter"));
        }
        (key == "pkts" ? pkts : bytes) = true;
      }
    }
    seen_[0] = seen_[1] = seen_[2] = seen_[3] = false;
    if (pkts != bytes) return void(fail("chain record: pkts= and bytes= go together"));
    if (pkts && c.policy.empty()) return void(fail("chain record: pkts=/bytes= need policy="));
    // A lines= chain's rule count when read is the held read's, not the wire's to say.
    if (c.has_lines && c.has_was) return void(fail("chain record: was= and lines= do not go together"));
    c.has_counters = pkts;
  }

  // `rule PKTS BYTES TEXT`: the text is the rest of the line.
  void rule(std::string_view line) {
    if (!need_chain("rule")) return;
    split_fields(line, f_, 4);
    if (f_.size() < 4) return void(fail("rule record: needs packets, bytes and the rule's text"));
    std::string_view text = f_[3];
    const bool dash = f_[1] == "-";
    if (dash != (f_[2] == "-")) return void(fail("rule record: packets and bytes are both counters or both '-'"));
    NewRule nr;
    nr.line = line_;
    if (!dash && (!decimal(f_[1], UINT64_MAX, nr.packets) || !decimal(f_[2], UINT64_MAX, nr.bytes))) {
      return void(fail("rule record: packets " + std::string(f_[1]) + " and bytes " + std::string(f_[2]) +
                       " are not decimal 64-bit counters"));
    }
    auto bad_rule = [&](const std::string& why) {
      constexpr size_t kShown = 200;
      std::string shown;
      for (char c : text.substr(0, kShown)) shown += c == '\r' ? std::string("\\r") : std::string(1, c);
      if (text.size() > kShown) shown += "…";
      fail("rule record: `" + shown + "': " + why);
    };
    if (text.find('\r') != std::string_view::npos) return bad_rule("a line break cannot be part of a rule");
    dialect::Rule& r = out_.next_rule();  // parsed in place: a Rule is big to move
    dialect::ParseError perr;
    if (!dialect::parse_rule(text, family_, r, perr, nullptr, /*opaque_ok=*/true)) {
      std::string why = perr.message.empty() ? std::string("cannot parse the rule") : perr.message;
      if (!perr.token.empty() && why.find(perr.token) == std::string::npos) why += " (at '" + perr.token + "')";
      return bad_rule(why);
    }
    if (dash && r.has_counters) {  // -c PKTS BYTES in the text itself
      nr.packets = r.packets;
      nr.bytes = r.bytes;
    }
    std::string why;
    if (!out_.adopt(r, chain()->name, nr, why)) return void(fail(why));
    chain()->items.push_back(Item{false, 0, out_.rules.size()});
    out_.rules.push_back(nr);
  }

  Family family_;
  TablePlan& out_;
  OpError error_;
  size_t line_ = 0;
  uint64_t pending_lines_ = 0;  // texts of a lines= chain still to come
  uint64_t run_keeps_ = 0;      // rules kept by the table's keeprun records so far
  size_t text_left_ = 0;        // bytes of the wire from the record being read on
  std::vector<std::string_view> f_;
  std::set<std::string, std::less<>> names_;
  bool seen_[4] = {};
};

}  // namespace

OpError parse_wire(std::string_view text, Family family, TablePlan& out) {
  return Parser(family, out).run(text);
}

}  // namespace iptkit::commit
