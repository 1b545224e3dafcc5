// getopt_long over an iptables command line, as iptables 1.8.9 runs it (see parse.h).
//
// Speed: a rule is parsed per new rule of every commit, so the hot path allocates little.
// Tokens are views (of the line, or of an unescaped copy when it has quotes); the parser's
// per-call state (loaded extensions and their options, the token vector of parse_rule) lives
// in a per-thread scratch whose buffers keep their capacity; the rule is filled in place;
// generic options are found by their first letter, extension options and modules through
// per-thread caches of their names.
#include "parse.h"

#include <linux/netfilter/x_tables.h>

#include <array>
#include <cctype>
#include <cstring>
#include <memory>
#include <unordered_map>

#include "address.h"
#include "protocols.h"

namespace iptkit {
namespace dialect {
namespace {

// add_param_to_argv splits on spaces and tabs only: a `\r` stays in its word (and iptables
// then refuses `ACCEPT\r` as a target name), so a CRLF line is refused here too.
bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\n'; }

std::string S(std::string_view v) { return std::string(v); }

// What iptables says of a -j/-g name (xtables' parse_target): not empty, shorter than
// XT_EXTENSION_MAXNAMELEN, no blanks.
std::string target_name_problem(std::string_view name) {
  if (name.empty()) return "Invalid target name (too short)";
  if (name.size() >= XT_EXTENSION_MAXNAMELEN) {
    return "Invalid target name `" + S(name) + "' (" + std::to_string(XT_EXTENSION_MAXNAMELEN - 1) + " chars max)";
  }
  for (char c : name) {
    if (std::isspace(static_cast<unsigned char>(c))) return "Invalid target name `" + S(name) + "'";
  }
  return {};
}

bool is_verdict(std::string_view s) { return s == "ACCEPT" || s == "DROP" || s == "RETURN" || s == "QUEUE"; }

// iptables 1.8.9 original_opts, in its order (getopt_long reports the first exact match).
struct Generic {
  std::string_view name;
  char letter;
  uint8_t has_arg;  // 0 none, 1 required, 2 optional
};
constexpr Generic kGeneric[] = {
    {"append", 'A', 1},      {"delete", 'D', 1},        {"check", 'C', 1},       {"insert", 'I', 1},
    {"replace", 'R', 1},     {"list", 'L', 2},          {"list-rules", 'S', 2},  {"flush", 'F', 2},
    {"zero", 'Z', 2},        {"new-chain", 'N', 1},     {"delete-chain", 'X', 2}, {"rename-chain", 'E', 1},
    {"policy", 'P', 1},      {"source", 's', 1},        {"destination", 'd', 1}, {"src", 's', 1},
    {"dst", 'd', 1},         {"protocol", 'p', 1},      {"in-interface", 'i', 1}, {"jump", 'j', 1},
    {"table", 't', 1},       {"match", 'm', 1},         {"numeric", 'n', 0},     {"out-interface", 'o', 1},
    {"verbose", 'v', 0},     {"wait", 'w', 2},          {"wait-interval", 'W', 2}, {"exact", 'x', 0},
    {"fragments", 'f', 0},   {"version", 'V', 0},       {"help", 'h', 2},        {"line-numbers", '0', 0},
    {"modprobe", 'M', 1},    {"set-counters", 'c', 1},  {"goto", 'g', 1},        {"ipv4", '4', 0},
    {"ipv6", '6', 0},
};
constexpr size_t kGenericCount = sizeof kGeneric / sizeof kGeneric[0];
static_assert(kGenericCount <= 64, "a bit per generic option");

// By first character: a bit per kGeneric index (names are unique, so the exact match found
// is the one getopt_long would report); by letter: the first entry with it, src/dst aside.
struct GenericIndex {
  std::array<uint64_t, 256> by_first{};
  std::array<const Generic*, 256> by_letter{};
  GenericIndex() {
    for (size_t k = 0; k < kGenericCount; k++) {
      const Generic& g = kGeneric[k];
      by_first[static_cast<unsigned char>(g.name[0])] |= 1ull << k;
      unsigned char l = static_cast<unsigned char>(g.letter);
      if (!by_letter[l] && g.name != "src" && g.name != "dst") by_letter[l] = &g;
    }
  }
};
const GenericIndex& generic_index() {
  static const GenericIndex index;
  return index;
}

const Generic* generic_by_name(std::string_view name) {
  if (name.empty()) return nullptr;
  for (uint64_t bits = generic_index().by_first[static_cast<unsigned char>(name[0])]; bits; bits &= bits - 1) {
    const Generic& g = kGeneric[__builtin_ctzll(bits)];
    if (name == g.name) return &g;
  }
  return nullptr;
}

const Generic* generic_by_letter(char c) { return generic_index().by_letter[static_cast<unsigned char>(c)]; }

constexpr std::string_view kCommandLetters = "ADCIRLSFZNXEP";
constexpr std::string_view kInvertible = "sdpiof";
// iptables' generic_opt_check columns, in its order (-g is folded into -j).
constexpr std::string_view kOptCheckLetters = "nsdpjvxio0cfg";
// The chain parse_rule puts after its `-A`: a name no rule can have, so no chain check applies.
constexpr std::string_view kPlaceholderChain("\0", 1);

// An extension's option names as views (the tables hold C strings), per thread.
struct OptionName {
  std::string_view name, alias;
  bool has_alias;
  const OptionSpec* spec;
};
using OptionNames = std::vector<OptionName>;

const OptionNames& option_names(const Extension* ext) {
  thread_local std::unordered_map<const Extension*, OptionNames> cache;
  auto it = cache.find(ext);
  if (it != cache.end()) return it->second;
  OptionNames names;
  for (const OptionSpec* s = ext->options; s && s->name; s++) {
    names.push_back(OptionName{s->name, s->alias ? std::string_view(s->alias) : std::string_view(), s->alias != nullptr, s});
  }
  return cache.emplace(ext, std::move(names)).first->second;
}

// find_by_user_name, remembered per thread (a bounded number of names: -j CHAIN names too).
const Extension* find_extension(std::string_view name, bool is_target, Family family) {
  struct Known {
    std::string name;
    bool is_target;
    Family family;
    const Extension* ext;
  };
  thread_local std::vector<Known> known;
  for (const Known& k : known) {
    if (k.is_target == is_target && k.family == family && k.name == name) return k.ext;
  }
  const Extension* ext = find_by_user_name(name, is_target, family);
  if (known.size() < 64) known.push_back(Known{std::string(name), is_target, family, ext});
  return ext;
}

// parse_protocol, remembered per thread for the few -p texts a rule set uses (its answer
// depends on the text alone: the protocol database is read once).
bool parse_protocol_cached(std::string_view text, Family family, uint16_t& out, ParseError& err) {
  struct Known {
    std::string text;
    Family family;
    uint16_t num;
  };
  thread_local std::vector<Known> known;
  for (const Known& k : known) {
    if (k.family == family && k.text == text) {
      out = k.num;
      return true;
    }
  }
  if (!parse_protocol(text, family, out, err)) return false;
  if (known.size() < 16) known.push_back(Known{std::string(text), family, out});
  return true;
}

// One loaded extension (a -m, the -p protocol's implicit match, or the -j target) and the
// options given to it so far. Instances are reused: `options` keeps its elements (and their
// strings' buffers) beyond `used` until the extension's parse needs the exact list.
struct Instance {
  const Extension* ext = nullptr;  // nullptr: an opaque marker read back (parse_options::opaque_ok)
  const OptionNames* names = nullptr;
  std::vector<ParsedOption> options;
  size_t used = 0;
  XtInstance opaque;

  ParsedOption& add_option() {
    if (used < options.size()) return options[used++];
    used++;
    return options.emplace_back();
  }
  const std::vector<ParsedOption>& finished_options() {
    if (options.size() > used) options.erase(options.begin() + static_cast<std::ptrdiff_t>(used), options.end());
    return options;
  }
};

// The parser's per-call buffers, one set per thread (a nested call, which nothing makes
// today, would get its own).
struct Scratch {
  bool busy = false;
  std::vector<std::unique_ptr<Instance>> pool;
  std::vector<Instance*> loaded, matches;
  TokenBuffer tokens;  // parse_rule's
  Command head;        // parse_rule's command part (its rule stays unused)
};

class ScratchLease {
 public:
  ScratchLease() {
    thread_local Scratch shared;
    if (shared.busy) {
      own_ = std::make_unique<Scratch>();
      s_ = own_.get();
    } else {
      s_ = &shared;
    }
    s_->busy = true;
  }
  ~ScratchLease() { s_->busy = false; }
  ScratchLease(const ScratchLease&) = delete;
  ScratchLease& operator=(const ScratchLease&) = delete;
  Scratch& operator*() const { return *s_; }

 private:
  Scratch* s_;
  std::unique_ptr<Scratch> own_;
};

struct Entry {
  const Generic* generic = nullptr;
  const OptionSpec* spec = nullptr;
  Instance* owner = nullptr;
  std::string_view name;
  uint8_t has_arg = 0;
};

using Tokens = std::vector<std::string_view>;

bool positional(const Tokens& t, size_t i) {
  return i < t.size() && !t[i].empty() && t[i][0] != '-' && t[i][0] != '!';
}

bool all_digits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// A rule as a fresh Rule{} holds it, keeping the buffers of `matches` (their elements are
// overwritten or dropped at the end of a parse) and of the strings.
void reset_rule(Rule& r) {
  r.ip = IpPart{};
  r.target_kind = TargetKind::kNone;
  r.target_name.clear();
  r.target.ext = nullptr;
  r.target.name.clear();
  r.target.revision = 0;
  r.target.data.clear();
  r.has_counters = false;
  r.packets = r.bytes = 0;
}

void reset_head(Command& c) {
  c.op = Op::kAppend;
  c.chain.clear();
  c.index = 0;
  c.policy.clear();
  c.new_name.clear();
  c.skip = false;
}

class Parser {
 public:
  // `head` takes the command part (op, chain, index, policy, new name), `rule` the rule.
  Parser(const Tokens& tokens, Family family, Command& head, Rule& rule, ParseError& err,
         std::vector<OptionTrace>* trace, bool opaque_ok, Scratch& scratch)
      : t_(tokens), family_(family), out_(head), rule_(rule), err_(err), trace_(trace), opaque_ok_(opaque_ok),
        s_(scratch), loaded_(scratch.loaded), matches_(scratch.matches) {
    loaded_.clear();
    matches_.clear();
  }

  bool run();

 private:
  bool fail(std::string message, std::string_view token = {}, std::string_view expected = {}) {
    err_.message = std::move(message);
    err_.token.assign(token);
    err_.expected.assign(expected);
    return false;
  }
  bool lookup_long(std::string_view name, std::string_view tok, Entry& e, bool& found);
  bool set_once(char letter, std::string_view tok, bool inverted);
  bool rule_number(std::string_view text, uint32_t& out);
  bool counter(std::string_view text, const char* which, uint64_t& out);
  bool opaque(std::string_view tok) {
    return fail("this rule holds an extension iptkit cannot print (it was read from the kernel without a "
                "module); it cannot be restored from text",
                tok, "a rule without opaque extensions");
  }
  Instance* load(const Extension* ext) {
    size_t k = loaded_.size();
    if (k == s_.pool.size()) s_.pool.push_back(std::make_unique<Instance>());
    Instance* inst = s_.pool[k].get();
    inst->ext = ext;
    inst->names = ext ? &option_names(ext) : nullptr;
    inst->used = 0;
    loaded_.push_back(inst);
    return inst;
  }
  // `--iptkit-opaque REV:HEX` after `-m NAME` / `-j NAME`: the data area as read, byte for byte.
  bool load_opaque(std::string_view name, std::string_view value, Instance*& out);
  bool finish_extension(Instance& inst, XtInstance& out);
  bool makes_rule_ = true;  // ParseCtx::makes_rule, known once the command is
  bool check_interfaces(std::string_view chain);

  const Tokens& t_;
  Family family_;
  Command& out_;
  Rule& rule_;
  ParseError& err_;
  std::vector<OptionTrace>* trace_;
  bool opaque_ok_;
  Scratch& s_;
  // Loaded extensions, oldest first; getopt sees generic options, then the newest one's.
  std::vector<Instance*>& loaded_;
  std::vector<Instance*>& matches_;
  Instance* target_ = nullptr;
  uint64_t seen_ = 0;  // a bit per generic letter used
  uint64_t used_ = 0;  // a bit per generic option letter given (listing ones too), for opt_check
  bool seen_any_ = false;
};

bool Parser::lookup_long(std::string_view name, std::string_view tok, Entry& e, bool& found) {
  found = false;
  if (const Generic* g = generic_by_name(name)) {
    e = Entry{g, nullptr, nullptr, g->name, g->has_arg};
    found = true;
    return true;
  }
  for (size_t k = loaded_.size(); k-- > 0;) {
    Instance* inst = loaded_[k];
    if (!inst->ext) continue;
    for (const OptionName& n : *inst->names) {
      if (name == n.name || (n.has_alias && name == n.alias)) {
        e = Entry{nullptr, n.spec, inst, name, static_cast<uint8_t>(n.spec->has_arg ? 1 : 0)};
        found = true;
        return true;
      }
    }
  }
  // A prefix (rare): the whole merged list, as getopt_long walks it; ambiguous unless every
  // candidate is the same option.
  std::vector<Entry> cands;
  for (const Generic& g : kGeneric) {
    if (g.name.substr(0, name.size()) == name) cands.push_back(Entry{&g, nullptr, nullptr, g.name, g.has_arg});
  }
  for (size_t k = loaded_.size(); k-- > 0;) {
    Instance* inst = loaded_[k];
    if (!inst->ext) continue;
    for (const OptionSpec* s = inst->ext->options; s && s->name; s++) {
      for (const char* n : {s->name, s->alias}) {
        if (n && std::string_view(n).substr(0, name.size()) == name) {
          cands.push_back(Entry{nullptr, s, inst, n, static_cast<uint8_t>(s->has_arg ? 1 : 0)});
        }
      }
    }
  }
  if (cands.empty()) return true;
  const Entry& first = cands[0];
  for (const Entry& c : cands) {
    bool same = c.has_arg == first.has_arg &&
                (first.generic ? c.generic && c.generic->letter == first.generic->letter
                               : c.spec == first.spec && c.owner == first.owner);
    if (!same) {
      std::string list;
      for (const Entry& x : cands) {
        if (!list.empty()) list += ' ';
        list += "--";
        list += x.name;
      }
      return fail("option \"" + S(tok) + "\" is ambiguous; possibilities: " + list, tok, "an unambiguous option");
    }
  }
  e = first;
  found = true;
  return true;
}

bool Parser::set_once(char letter, std::string_view tok, bool inverted) {
  uint64_t bit = 1ull << (static_cast<unsigned char>(letter) & 63);
  if (seen_ & bit) return fail(std::string("multiple -") + letter + " flags not allowed", tok);
  seen_ |= bit;
  seen_any_ = true;
  if (inverted && kInvertible.find(letter) == std::string_view::npos) {
    return fail(std::string("cannot have ! before -") + letter, tok);
  }
  return true;
}

bool Parser::rule_number(std::string_view text, uint32_t& out) {
  uint64_t v = 0;
  bool ok = all_digits(text) && text.size() <= 10;
  if (ok) {
    for (char c : text) v = v * 10 + static_cast<uint64_t>(c - '0');
    ok = v >= 1 && v <= UINT32_MAX;
  }
  if (!ok) return fail("Invalid rule number `" + S(text) + "'", text, "a rule number ≥ 1");
  out = static_cast<uint32_t>(v);
  return true;
}

// sscanf("%llu"): leading blanks and a plus sign are fine, trailing text is ignored.
bool Parser::counter(std::string_view text, const char* which, uint64_t& out) {
  size_t i = 0;
  while (i < text.size() && (text[i] == ' ' || (text[i] >= '\t' && text[i] <= '\r'))) i++;
  if (i < text.size() && text[i] == '+') i++;
  size_t from = i;
  uint64_t v = 0;
  for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; i++) {
    uint64_t d = static_cast<uint64_t>(text[i] - '0');
    if (v > (UINT64_MAX - d) / 10) return fail(std::string("-c ") + which + " counter too large", text, "a 64-bit counter");
    v = v * 10 + d;
  }
  if (i == from) return fail(std::string("-c ") + which + " counter not numeric", text, "a decimal counter");
  out = v;
  return true;
}

bool Parser::load_opaque(std::string_view name, std::string_view value, Instance*& out) {
  XtInstance x;
  x.name = std::string(name);
  size_t colon = value.find(':');
  uint64_t rev = 0;
  bool ok = colon != std::string_view::npos && colon > 0 && strtoui(value.substr(0, colon), 255, rev);
  std::string_view hex = ok ? value.substr(colon + 1) : std::string_view();
  if (hex != "-") {
    ok = ok && hex.size() % 2 == 0 && name.size() < XT_EXTENSION_MAXNAMELEN;
    for (size_t k = 0; ok && k < hex.size(); k += 2) {
      auto nib = [](char c) { return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1; };
      int hi = nib(hex[k]), lo = nib(hex[k + 1]);
      ok = hi >= 0 && lo >= 0;
      if (ok) x.data.push_back(static_cast<uint8_t>(hi << 4 | lo));
    }
  }
  if (!ok) return fail("bad opaque extension data `" + S(value) + "'", value, "REV:HEX");
  x.revision = static_cast<uint8_t>(rev);
  out = load(nullptr);
  out->opaque = std::move(x);
  return true;
}

bool Parser::finish_extension(Instance& inst, XtInstance& out) {
  if (!inst.ext) {
    out = inst.opaque;
    return true;
  }
  const Extension* ext = inst.ext;
  out.ext = ext;
  out.name = ext->kernel_name;
  out.revision = ext->revision;
  out.data.assign(ext->size(ext->revision), 0);
  ParseCtx ctx{family_, rule_.ip.proto, (rule_.ip.invflags & kInvProto) != 0, &err_, opaque_ok_, makes_rule_};
  return ext->parse(inst.finished_options(), ctx, out.data.data());
}

bool Parser::check_interfaces(std::string_view chain) {
  if ((chain == "PREROUTING" || chain == "INPUT") && rule_.ip.outiface[0]) {
    return fail("Can't use -o with " + S(chain), "-o");
  }
  if ((chain == "POSTROUTING" || chain == "OUTPUT") && rule_.ip.iniface[0]) {
    return fail("Can't use -i with " + S(chain), "-i");
  }
  return true;
}

bool Parser::run() {
  Rule& rule = rule_;
  char letter_cmd = 0;
  bool has_chain = false;
  bool invert = false;
  std::string_view invert_token;
  std::string_view proto_text;
  bool have_proto = false, proto_used = false;
  std::string_view target_name;
  bool is_goto = false, have_target = false;

  size_t i = 0;
  while (i < t_.size()) {
    const std::string_view tok = t_[i++];
    if (tok.substr(0, kOpaqueOption.size()) == kOpaqueOption &&
        (tok.size() == kOpaqueOption.size() || tok[kOpaqueOption.size()] == '=')) {
      // Read back only where the caller allows it, and only right after `-j NAME`.
      bool after_target = have_target && !target_ && !is_goto && i >= 3 && t_[i - 3] == "-j";
      if (!opaque_ok_ || !after_target || tok.size() != kOpaqueOption.size() || i >= t_.size()) return opaque(tok);
      if (!load_opaque(target_name, t_[i++], target_)) return false;
      continue;
    }
    Entry entry;
    bool have_attached = false;
    std::string_view attached;
    std::string_view shown = tok;
    if (tok.size() > 2 && tok[0] == '-' && tok[1] == '-') {
      size_t eq = tok.find('=');
      std::string_view name = tok.substr(2, eq == std::string_view::npos ? std::string_view::npos : eq - 2);
      if (eq != std::string_view::npos) {
        have_attached = true;
        attached = tok.substr(eq + 1);
      }
      bool found = false;
      if (!lookup_long(name, tok, entry, found)) return false;
      if (!found) {
        // command_default: an unknown option may belong to the `-p` protocol's match.
        if (have_proto && !proto_used) {
          proto_used = true;
          const Extension* ext = nullptr;
          for (const char* n : implicit_match_names(proto_text, family_)) {
            if ((ext = find_extension(n, false, family_))) break;
          }
          if (ext) {
            matches_.push_back(load(ext));
            i--;  // getopt again over the same option, now with the match's options merged
            continue;
          }
        }
        // An option after `-j NAME` that no module gave: iptables tried to load NAME as a target
        // there and says so (a chain name takes no options either).
        if (have_target && !target_ && !is_goto && !is_verdict(target_name)) {
          return fail("Couldn't load target `" + S(target_name) + "': iptkit has no module for it", target_name,
                      "a target iptkit understands");
        }
        return fail("unknown option \"" + S(tok) + "\"", tok, "an option of iptables or of a loaded match or target");
      }
    } else if (tok.size() > 1 && tok[0] == '-' && tok != "--") {
      // `--line-numbers` has no short form in iptables' optstring (its letter is internal).
      const Generic* g = tok[1] == '0' ? nullptr : generic_by_letter(tok[1]);
      if (!g) return fail("unknown option \"" + S(tok) + "\"", tok, "an option of iptables");
      entry = Entry{g, nullptr, nullptr, g->name, g->has_arg};
      shown = tok.substr(0, 2);
      if (tok.size() > 2) {
        if (g->has_arg == 0) return fail("unknown option \"" + S(tok) + "\" (short options are not combined here)", tok);
        have_attached = true;
        attached = tok.substr(2);
      }
    } else {
      if (tok == "!") {
        if (invert) return fail("multiple consecutive ! not allowed", tok);
        invert = true;
        invert_token = tok;
        continue;
      }
      if (tok == "--") {
        // getopt's end of options: iptables then refuses whatever is left.
        if (i < t_.size()) return fail("unknown arguments found on commandline", t_[i]);
        break;
      }
      return fail("Bad argument `" + S(tok) + "'", tok, "an option");
    }

    bool has_value = false;
    std::string_view value;
    if (entry.has_arg == 0) {
      if (have_attached) return fail("option \"" + S(shown) + "\" doesn't allow an argument", shown);
    } else if (have_attached) {
      has_value = true;
      value = attached;
    } else if (entry.has_arg != 2) {
      if (i >= t_.size()) return fail("option \"" + S(shown) + "\" requires an argument", shown, "an argument");
      has_value = true;
      value = t_[i++];
    }

    if (entry.spec) {
      const OptionSpec* spec = entry.spec;
      // `--dport ! 80` (the old intrapositioned `!`) is no negation in iptables 1.8.9: the
      // module gets `!` as the value and refuses it, and so does ours.
      if (invert && !spec->invertible) {
        return fail(std::string(entry.owner->ext->name) + ": option \"--" + spec->name + "\" cannot be inverted.", tok);
      }
      ParsedOption& po = entry.owner->add_option();
      po.spec = spec;
      po.value.assign(value);
      // getopt hands over one argument; multi-argument options take the following words.
      for (int extra = static_cast<int>(spec->nargs) - 1; extra > 0 && has_value; extra--) {
        if (!positional(t_, i)) {
          return fail("option \"" + S(tok) + "\" requires " + std::to_string(spec->nargs) + " arguments", tok,
                      std::to_string(spec->nargs) + " arguments");
        }
        po.value += ' ';
        po.value += t_[i++];
      }
      po.has_value = has_value;
      po.invert = invert;
      po.token.assign(shown);
      if (trace_) {
        int idx = static_cast<int>(matches_.size());
        for (size_t k = 0; k < matches_.size(); k++) {
          if (matches_[k] == entry.owner) idx = static_cast<int>(k);
        }
        // entry.name: the spelling used when it was a whole name (or alias), else the full
        // name an abbreviation stood for.
        trace_->push_back(OptionTrace{idx, spec->name, po.value, has_value, invert, spec->nargs, std::string(entry.name)});
      }
      invert = false;
      continue;
    }

    const char letter = entry.generic->letter;
    if (kCommandLetters.find(letter) != std::string_view::npos) {
      if (invert) return fail(std::string("cannot have ! before -") + letter, tok);
      if (letter_cmd) return fail(std::string("Can't use -") + letter + " with -" + letter_cmd, tok, "one command per line");
      letter_cmd = letter;
      if (!has_value && entry.has_arg == 2 && positional(t_, i)) {
        has_value = true;
        value = t_[i++];
      }
      if (has_value) {
        out_.chain.assign(value);
        has_chain = true;
      }
      switch (letter) {
        case 'I':
          out_.index = 1;
          if (positional(t_, i) && !rule_number(t_[i++], out_.index)) return false;
          break;
        case 'R':
          if (!positional(t_, i)) return fail("-R requires a rule number", tok, "a rule number");
          if (!rule_number(t_[i++], out_.index)) return false;
          break;
        case 'D':
          if (positional(t_, i) && !rule_number(t_[i++], out_.index)) return false;
          break;
        case 'P':
          if (!positional(t_, i)) return fail("-P requires a chain and a policy", tok, "a policy");
          out_.policy.assign(t_[i++]);
          break;
        case 'E':
          if (!positional(t_, i)) return fail("-E requires old-chain-name and new-chain-name", tok, "a new chain name");
          out_.new_name.assign(t_[i++]);
          break;
        case 'L':
        case 'S':
          return fail(std::string("-") + letter + " lists rules; it has no place in restore input", tok);
        default:
          break;
      }
      continue;
    }

    if (size_t k = kOptCheckLetters.find(letter); k != std::string_view::npos) used_ |= 1ull << k;
    if (trace_ && std::string_view("sdiopfjgc").find(letter) != std::string_view::npos) {
      trace_->push_back(OptionTrace{-1, std::string(entry.generic->name), std::string(value), has_value, invert, 1,
                                    std::string(entry.name)});
    }
    switch (letter) {
      case 's':
      case 'd': {
        if (!set_once(letter, tok, invert)) return false;
        uint8_t* addr = letter == 's' ? rule.ip.src : rule.ip.dst;
        uint8_t* mask = letter == 's' ? rule.ip.smsk : rule.ip.dmsk;
        if (!parse_address(value, family_, addr, mask, err_)) return false;
        if (invert) rule.ip.invflags |= letter == 's' ? kInvSrc : kInvDst;
        break;
      }
      case 'i':
      case 'o': {
        if (!set_once(letter, tok, invert)) return false;
        bool in = letter == 'i';
        if (!parse_interface(value, in ? rule.ip.iniface : rule.ip.outiface,
                             in ? rule.ip.iniface_mask : rule.ip.outiface_mask, err_)) {
          return false;
        }
        if (invert) rule.ip.invflags |= in ? kInvIn : kInvOut;
        break;
      }
      case 'p': {
        if (!set_once('p', tok, invert)) return false;
        uint16_t n = 0;
        if (!parse_protocol_cached(value, family_, n, err_)) return false;
        if (n == 0 && invert) return fail("rule would never match protocol", value, "a protocol other than all");
        proto_text = value;
        have_proto = true;
        rule.ip.proto = n;
        if (invert) rule.ip.invflags |= kInvProto;
        break;
      }
      case 'f':
        if (family_ != Family::ipv4) return fail("-f (fragments) exists only in iptables (IPv4)", tok);
        if (!set_once('f', tok, invert)) return false;
        rule.ip.frag = true;
        if (invert) rule.ip.invflags |= kInvFrag;
        break;
      case 'j':
      case 'g': {
        if (have_target) return fail("multiple -j flags not allowed", tok);
        if (!set_once('j', tok, invert)) return false;
        have_target = true;
        target_name = value;
        is_goto = letter == 'g';
        if (std::string problem = target_name_problem(target_name); !problem.empty()) {
          return fail(problem, target_name, "a target or chain name");
        }
        if (!is_goto && !is_verdict(target_name)) {
          if (const Extension* ext = find_extension(target_name, true, family_)) target_ = load(ext);
        }
        break;
      }
      case 'm': {
        if (invert) return fail("cannot have ! before -m", tok);
        const Extension* ext = find_extension(value, false, family_);
        if (!ext && i < t_.size() && t_[i] == kOpaqueOption) {
          if (!opaque_ok_ || i + 1 >= t_.size()) return opaque(t_[i]);
          Instance* inst = nullptr;
          if (!load_opaque(value, t_[i + 1], inst)) return false;
          matches_.push_back(inst);
          i += 2;
          seen_any_ = true;
          break;
        }
        if (!ext) return fail("Couldn't load match `" + S(value) + "': iptkit has no module for it", value, "a match iptkit understands");
        matches_.push_back(load(ext));
        seen_any_ = true;
        break;
      }
      case 'c': {
        if (!set_once('c', tok, invert)) return false;
        std::string_view pc = value, bc;
        bool have_bc = false;
        size_t comma = pc.find(',', 1);
        if (comma != std::string_view::npos) {
          bc = pc.substr(comma + 1);
          pc = pc.substr(0, comma);
          have_bc = true;
        } else if (positional(t_, i)) {
          bc = t_[i++];
          have_bc = true;
        }
        if (!have_bc) return fail("-c requires packet and byte counter", tok, "PKTS BYTES");
        if (!counter(pc, "packet", rule.packets) || !counter(bc, "byte", rule.bytes)) return false;
        rule.has_counters = true;
        break;
      }
      case '4':
      case '6':
        if ((letter == '4') != (family_ == Family::ipv4)) {
          // iptables stops reading the line here and skips it (the rest is never looked at).
          out_.skip = true;
          return true;
        }
        break;
      case 'w':
      case 'W':
        return fail(std::string("You cannot use `-") + letter + "' from iptables-restore", tok);
      case 'n': case 'v': case 'x': case '0': case 'M':
        // Listing options: meaningless for a rule; opt_check below refuses those the command
        // does not allow, as iptables does.
        break;
      case 't':
        // Refused where getopt meets it as an option, so that `--comment -t` stays text.
        return fail("The -t option cannot be used in iptables-restore (the table comes from the *table line)", tok);
      default:
        return fail("option \"" + S(tok) + "\" is not supported", tok);
    }
    invert = false;
  }
  if (invert) return fail("`!' at the end of the line, with nothing to invert", invert_token);
  if (!letter_cmd) return fail("no command specified", t_.empty() ? std::string_view() : t_[0], "a command such as -A CHAIN");

  // Extension structs, in load order (iptables' final checks).
  makes_rule_ = std::string_view("ADCIR").find(letter_cmd) != std::string_view::npos && !(letter_cmd == 'D' && out_.index);
  rule.matches.resize(matches_.size());
  for (size_t k = 0; k < matches_.size(); k++) {
    if (!finish_extension(*matches_[k], rule.matches[k])) return false;
  }
  if (have_target) {
    if (target_) {
      rule.target_kind = TargetKind::kExtension;
      // Opaque or not, the name stays the one written after -j.
      if (!finish_extension(*target_, rule.target)) return false;
    } else if (!is_goto && is_verdict(target_name)) {
      rule.target_kind = TargetKind::kVerdict;
    } else {
      rule.target_kind = is_goto ? TargetKind::kGoto : TargetKind::kJump;
    }
    rule.target_name.assign(target_name);
  }

  // generic_opt_check: the options iptables 1.8.9 refuses with each command ("Illegal option
  // `-x' with this command"), reported in its column order; -g counts as -j.
  {
    std::string_view illegal;
    if (std::string_view("AIR").find(letter_cmd) != std::string_view::npos) illegal = "nx0";
    else if (letter_cmd == 'C' || (letter_cmd == 'D' && !out_.index)) illegal = "nx0c";
    else if (letter_cmd == 'P') illegal = "nsdpjxio0f";
    else if (std::string_view("DEFNXZ").find(letter_cmd) != std::string_view::npos) illegal = "nsdpjxio0cf";
    uint64_t used = used_;
    if (used & (1ull << kOptCheckLetters.find('g'))) used |= 1ull << kOptCheckLetters.find('j');
    for (size_t k = 0; k < kOptCheckLetters.size(); k++) {
      char c = kOptCheckLetters[k];
      if (c != 'g' && illegal.find(c) != std::string_view::npos && (used & (1ull << k))) {
        return fail(std::string("Illegal option `-") + c + "' with this command", {}, "no such option with this command");
      }
    }
  }

  const std::string_view needs_chain = "ADCIRNEP";
  if (needs_chain.find(letter_cmd) != std::string_view::npos && !has_chain) {
    return fail(std::string("-") + letter_cmd + " requires a chain name", {}, "a chain name");
  }
  // Every command's chain, not only -N's: iptables checks its length before the kernel does.
  if (out_.chain.size() > kMaxChainName) {
    return fail(chain_name_problem(out_.chain, family_), out_.chain, "a chain name of at most " + std::to_string(kMaxChainName) + " characters");
  }
  bool rule_cmd = std::string_view("ADCIR").find(letter_cmd) != std::string_view::npos;
  if (rule_cmd && !(letter_cmd == 'D' && out_.index) && !check_interfaces(out_.chain)) return false;
  // opt_check above refused the rule options iptables refuses; matches it loads and ignores.
  // -P with -c is left out: iptables-legacy sets the policy's counters, iptables-nft not.
  auto no_rule = [&]() {
    if (rule.has_counters) return fail(std::string("-") + letter_cmd + " takes no counters here", "-c");
    return true;
  };
  switch (letter_cmd) {
    case 'A': out_.op = Op::kAppend; return true;
    case 'I': out_.op = Op::kInsert; return true;
    case 'R': out_.op = Op::kReplace; return true;
    case 'C': out_.op = Op::kCheck; return true;
    case 'D':
      if (out_.index) {
        out_.op = Op::kDeleteNum;
        return no_rule();
      }
      out_.op = Op::kDelete;
      return true;
    case 'N': {
      out_.op = Op::kNewChain;
      if (!no_rule()) return false;
      std::string problem = chain_name_problem(out_.chain, family_);
      return problem.empty() || fail(problem, out_.chain, "a valid chain name");
    }
    case 'X': out_.op = Op::kDeleteChain; return no_rule();
    case 'F': out_.op = Op::kFlush; return no_rule();
    case 'Z': out_.op = Op::kZero; return no_rule();
    case 'P':
      out_.op = Op::kPolicy;
      if (!no_rule()) return false;
      if (out_.policy != "ACCEPT" && out_.policy != "DROP") {
        return fail("Bad built-in chain policy `" + out_.policy + "'", out_.policy, "ACCEPT or DROP");
      }
      return true;
    case 'E': {
      out_.op = Op::kRename;
      if (!no_rule()) return false;
      std::string problem = chain_name_problem(out_.new_name, family_);
      return problem.empty() || fail(problem, out_.new_name, "a valid chain name");
    }
    default:
      return fail(std::string("-") + letter_cmd + " is not supported here");
  }
}

}  // namespace

bool tokenize_line(std::string_view line, TokenBuffer& buf, ParseError& err) {
  std::vector<std::string_view>& out = buf.tokens;
  if (line.find('"') == std::string_view::npos) {
    // No quotes: words are the runs of non-blanks (a backslash outside quotes is literal).
    size_t i = 0, n = line.size();
    while (i < n) {
      while (i < n && is_blank(line[i])) i++;
      size_t from = i;
      while (i < n && !is_blank(line[i])) i++;
      if (i > from) out.push_back(line.substr(from, i - from));
    }
    return true;
  }
  // add_param_to_argv's loop, the words unescaped into the arena (never longer than the line).
  std::string& arena = buf.arena;
  auto& spans = buf.spans;
  arena.clear();
  spans.clear();
  size_t start = 0;
  auto push = [&]() {
    spans.emplace_back(start, arena.size() - start);
    start = arena.size();
  };
  bool quote_open = false, escaped = false, in_word = false;
  for (char ch : line) {
    if (quote_open) {
      if (escaped) {
        arena += ch;
        escaped = false;
      } else if (ch == '\\') {
        escaped = true;
      } else if (ch == '"') {
        quote_open = false;
        push();
        in_word = false;
      } else {
        arena += ch;
      }
      continue;
    }
    if (ch == '"') {
      quote_open = true;
      continue;
    }
    if (is_blank(ch)) {
      if (in_word) {
        push();
        in_word = false;
      }
      continue;
    }
    arena += ch;
    in_word = true;
  }
  if (quote_open) {
    err.message = "unterminated quoted string";
    err.token = std::string(line);
    err.expected = "a closing \"";
    return false;
  }
  if (in_word) push();
  for (const auto& [at, len] : spans) out.push_back(std::string_view(arena).substr(at, len));
  return true;
}

bool tokenize_line(std::string_view line, std::vector<std::string>& out, ParseError& err) {
  out.clear();
  TokenBuffer buf;
  if (!tokenize_line(line, buf, err)) return false;
  out.reserve(buf.tokens.size());
  for (std::string_view t : buf.tokens) out.emplace_back(t);
  return true;
}

bool parse_command(const std::vector<std::string_view>& tokens, Family family, Command& out, ParseError& err,
                   std::vector<OptionTrace>* trace, bool opaque_ok) {
  reset_head(out);
  reset_rule(out.rule);
  ScratchLease lease;
  return Parser(tokens, family, out, out.rule, err, trace, opaque_ok, *lease).run();
}

bool parse_command(const std::vector<std::string>& tokens, Family family, Command& out, ParseError& err,
                   std::vector<OptionTrace>* trace, bool opaque_ok) {
  std::vector<std::string_view> views(tokens.begin(), tokens.end());
  return parse_command(views, family, out, err, trace, opaque_ok);
}

bool parse_rule(std::string_view text, Family family, Rule& out, ParseError& err, std::vector<OptionTrace>* trace,
                bool opaque_ok) {
  ScratchLease lease;
  Scratch& s = *lease;
  // `-A` and a placeholder chain no rule can name, so that no chain-specific check applies.
  std::vector<std::string_view>& tokens = s.tokens.tokens;
  tokens.clear();
  tokens.push_back("-A");
  tokens.push_back(kPlaceholderChain);
  if (!tokenize_line(text, s.tokens, err)) return false;
  reset_head(s.head);
  reset_rule(out);
  if (!Parser(tokens, family, s.head, out, err, trace, opaque_ok, s).run()) return false;
  if (s.head.skip) {
    err.message = std::string("this rule is for ") + (family == Family::ipv4 ? "IPv6" : "IPv4") + " only";
    return false;
  }
  if (s.head.op != Op::kAppend) {
    err.message = "expected the options of one rule, not a command";
    return false;
  }
  return true;
}

std::string chain_name_problem(std::string_view name, Family family) {
  if (name.size() > kMaxChainName) {
    return "chain name `" + std::string(name) + "' too long (must be under " + std::to_string(kMaxChainName + 1) + " chars)";
  }
  if (name.empty()) return "chain name must not be empty";
  if (name[0] == '-') return "chain name not allowed to start with `-'";
  if (name[0] == '!') return "chain name not allowed to start with `!'";
  for (char c : name) {
    if (c == ' ' || (c >= '\t' && c <= '\r')) return "Invalid chain name `" + std::string(name) + "'";
  }
  if (is_verdict(name) || find_by_user_name(name, true, family)) return "chain name may not clash with target name";
  return {};
}

}  // namespace dialect
}  // namespace iptkit
