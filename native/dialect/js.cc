// The dialect's JavaScript entry points: synchronous, pure CPU, no kernel. Errors are thrown
// as Error objects with code 'EPARSE', and line, token and expected where known; src/binding.ts
// turns them into ParseError.
#include "js.h"

#include "parse.h"
#include "print.h"
#include "restore.h"

namespace iptkit {
namespace {

using dialect::ParseError;

bool family_arg(const Napi::Value& v, Family& out) {
  if (!v.IsString()) return false;
  std::string s = v.As<Napi::String>();
  if (s == "ipv4") out = Family::ipv4;
  else if (s == "ipv6") out = Family::ipv6;
  else return false;
  return true;
}

// `as_written`: options by the name the text used (an alias, an abbreviation), not iptables'.
Napi::Array options_array(Napi::Env env, const std::vector<dialect::OptionTrace>& trace, int instance, bool as_written) {
  Napi::Array arr = Napi::Array::New(env);
  uint32_t k = 0;
  for (const auto& t : trace) {
    if (t.instance != instance) continue;
    Napi::Array o = Napi::Array::New(env, 3);
    o.Set(0u, Napi::String::New(env, as_written ? t.written : t.option));
    if (!t.has_value) {
      o.Set(1u, env.Null());
    } else if (t.nargs > 1) {
      // A multi-argument option (--tcp-flags MASK COMP) as its arguments.
      Napi::Array args = Napi::Array::New(env);
      size_t from = 0;
      for (uint32_t n = 0;; n++) {
        size_t sp = t.value.find(' ', from);
        args.Set(n, Napi::String::New(env, t.value.substr(from, sp == std::string::npos ? std::string::npos : sp - from)));
        if (sp == std::string::npos) break;
        from = sp + 1;
      }
      o.Set(1u, args);
    } else {
      o.Set(1u, Napi::String::New(env, t.value));
    }
    o.Set(2u, Napi::Boolean::New(env, t.invert));
    arr.Set(k++, o);
  }
  return arr;
}

// dialectRule(family, text[, asWritten]) → { text, generic, matches: [{ name, options }], target }:
// the options of the canonical text, or with asWritten those of `text` as given.
Napi::Value DialectRule(const Napi::CallbackInfo& info) {
  dialect::OfflineNames offline;  // no kernel is asked here
  Napi::Env env = info.Env();
  Family family;
  if (info.Length() < 2 || !family_arg(info[0], family) || !info[1].IsString()) {
    throw Napi::TypeError::New(env, "dialectRule(family, text)");
  }
  std::string text = info[1].As<Napi::String>();
  ParseError err;
  dialect::Rule rule;
  std::vector<dialect::OptionTrace> trace;
  if (!dialect::parse_rule(text, family, rule, err, &trace)) throw_parse(env, err);
  std::string canonical;
  dialect::save_rule(rule, family, canonical);
  if (!canonical.empty() && canonical[0] == ' ') canonical.erase(0, 1);
  // The structure comes from the canonical text, so that it is canonical too — unless that
  // text does not parse back (iptables-save's own lossy forms, like a `/0` port base).
  dialect::Rule again;
  std::vector<dialect::OptionTrace> canonical_trace;
  bool as_written = info.Length() > 2 && info[2].ToBoolean();
  if (!as_written && canonical != text && dialect::parse_rule(canonical, family, again, err, &canonical_trace)) {
    trace = std::move(canonical_trace);
  } else {
    again = std::move(rule);
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("text", Napi::String::New(env, canonical));
  out.Set("generic", options_array(env, trace, -1, as_written));
  Napi::Array matches = Napi::Array::New(env, again.matches.size());
  for (size_t i = 0; i < again.matches.size(); i++) {
    Napi::Object m = Napi::Object::New(env);
    const auto& x = again.matches[i];
    m.Set("name", Napi::String::New(env, x.ext ? x.ext->name : x.name));
    m.Set("options", options_array(env, trace, static_cast<int>(i), as_written));
    matches.Set(static_cast<uint32_t>(i), m);
  }
  out.Set("matches", matches);
  if (again.target_kind == dialect::TargetKind::kNone) {
    out.Set("target", env.Null());
  } else {
    Napi::Object t = Napi::Object::New(env);
    const char* kind = again.target_kind == dialect::TargetKind::kVerdict ? "verdict"
                       : again.target_kind == dialect::TargetKind::kJump  ? "jump"
                       : again.target_kind == dialect::TargetKind::kGoto  ? "goto"
                                                                          : "extension";
    t.Set("kind", Napi::String::New(env, kind));
    t.Set("name", Napi::String::New(env, again.target_kind == dialect::TargetKind::kExtension && again.target.ext
                                             ? std::string(again.target.ext->name)
                                             : again.target_name));
    t.Set("options", options_array(env, trace, static_cast<int>(again.matches.size()), as_written));
    out.Set("target", t);
  }
  return out;
}

// dialectCanonical(family, rules) → their canonical texts; a bad rule throws naming its index.
Napi::Value DialectCanonical(const Napi::CallbackInfo& info) {
  dialect::OfflineNames offline;  // no kernel is asked here
  Napi::Env env = info.Env();
  Family family;
  if (info.Length() < 2 || !family_arg(info[0], family) || !info[1].IsArray()) {
    throw Napi::TypeError::New(env, "dialectCanonical(family, rules)");
  }
  Napi::Array in = info[1].As<Napi::Array>();
  Napi::Array out = Napi::Array::New(env, in.Length());
  std::string text;
  for (uint32_t i = 0; i < in.Length(); i++) {
    Napi::Value v = in.Get(i);
    if (!v.IsString()) throw Napi::TypeError::New(env, "rules[" + std::to_string(i) + "]: expected a string");
    ParseError err;
    dialect::Rule rule;
    if (!dialect::parse_rule(v.As<Napi::String>().Utf8Value(), family, rule, err)) {
      err.message = "rule " + std::to_string(i + 1) + ": " + err.message;
      throw_parse(env, err);
    }
    text.clear();
    dialect::save_rule(rule, family, text);
    out.Set(i, Napi::String::New(env, text.empty() ? text : text.substr(1)));
  }
  return out;
}

void command_text(const dialect::Command& c, Family family, std::string& out) {
  using dialect::Op;
  auto chain = [&](const char* flag) {
    out += flag;
    if (!c.chain.empty()) {
      out += ' ';
      out += c.chain;
    }
  };
  auto num = [&]() {
    out += ' ';
    dialect::append_u64(out, c.index);
  };
  switch (c.op) {
    case Op::kAppend: chain("-A"); break;
    case Op::kInsert: chain("-I"); num(); break;
    case Op::kReplace: chain("-R"); num(); break;
    case Op::kCheck: chain("-C"); break;
    case Op::kDelete: chain("-D"); break;
    case Op::kDeleteNum: chain("-D"); num(); return;
    case Op::kNewChain: chain("-N"); return;
    case Op::kDeleteChain: chain("-X"); return;
    case Op::kFlush: chain("-F"); return;
    case Op::kZero: chain("-Z"); return;
    case Op::kPolicy: chain("-P"); out += ' '; out += c.policy; return;
    case Op::kRename: chain("-E"); out += ' '; out += c.new_name; return;
  }
  dialect::save_rule(c.rule, family, out);
}

// dialectRestore(family, text, counters, table|null) → [{ name, line, commitLine, steps, lines,
// jumps, counters }]: each step canonical (`:CHAIN POLICY [p:b]`, or a command with its rule as
// iptables-save prints it), its input line, the chain its rule jumps to (-j/-g CHAIN) or null,
// and the counters the rule carries (-c), two per step, with `hasCounters` saying which do.
Napi::Value DialectRestore(const Napi::CallbackInfo& info) {
  dialect::OfflineNames offline;  // no kernel is asked here
  Napi::Env env = info.Env();
  Family family;
  if (info.Length() < 4 || !family_arg(info[0], family) || !info[1].IsString() || !info[2].IsBoolean()) {
    throw Napi::TypeError::New(env, "dialectRestore(family, text, counters, table)");
  }
  std::string text = info[1].As<Napi::String>();
  dialect::RestoreOptions opts;
  opts.counters = info[2].As<Napi::Boolean>();
  if (info[3].IsString()) opts.only_table = info[3].As<Napi::String>();
  std::vector<dialect::RestoreTable> tables;
  ParseError err;
  if (!dialect::parse_restore(text, family, opts, tables, err)) throw_parse(env, err);
  Napi::Array out = Napi::Array::New(env, tables.size());
  std::string line;
  for (size_t i = 0; i < tables.size(); i++) {
    const auto& t = tables[i];
    Napi::Object o = Napi::Object::New(env);
    o.Set("name", Napi::String::New(env, t.name));
    o.Set("line", Napi::Number::New(env, static_cast<double>(t.line)));
    o.Set("commitLine", Napi::Number::New(env, static_cast<double>(t.commit_line)));
    Napi::Array steps = Napi::Array::New(env, t.steps.size());
    Napi::Array lines = Napi::Array::New(env, t.steps.size());
    Napi::Array jumps = Napi::Array::New(env, t.steps.size());
    Napi::BigUint64Array counters = Napi::BigUint64Array::New(env, 2 * t.steps.size());
    Napi::Uint8Array has_counters = Napi::Uint8Array::New(env, t.steps.size());
    for (size_t k = 0; k < t.steps.size(); k++) {
      const auto& s = t.steps[k];
      line.clear();
      if (s.is_chain) {
        line += ':';
        line += s.chain->name;
        line += ' ';
        line += s.chain->policy.empty() ? "-" : s.chain->policy;
        if (s.chain->has_counters) {
          line += " [";
          dialect::append_u64(line, s.chain->packets);
          line += ':';
          dialect::append_u64(line, s.chain->bytes);
          line += ']';
        }
      } else {
        command_text(s.command, family, line);
      }
      steps.Set(static_cast<uint32_t>(k), Napi::String::New(env, line));
      lines.Set(static_cast<uint32_t>(k), Napi::Number::New(env, static_cast<double>(s.line)));
      const dialect::Rule& r = s.command.rule;
      bool jump = !s.is_chain && (r.target_kind == dialect::TargetKind::kJump || r.target_kind == dialect::TargetKind::kGoto);
      jumps.Set(static_cast<uint32_t>(k), jump ? Napi::Value(Napi::String::New(env, r.target_name)) : env.Null());
      has_counters[k] = !s.is_chain && r.has_counters;
      counters[2 * k] = r.packets;
      counters[2 * k + 1] = r.bytes;
    }
    o.Set("steps", steps);
    o.Set("lines", lines);
    o.Set("jumps", jumps);
    o.Set("counters", counters);
    o.Set("hasCounters", has_counters);
    out.Set(static_cast<uint32_t>(i), o);
  }
  return out;
}

// dialectListRule(family, text, num, { numeric, verbose, exact, lineNumbers }, packets, bytes)
// → one `iptables -L` rule line.
Napi::Value DialectListRule(const Napi::CallbackInfo& info) {
  dialect::OfflineNames offline;  // no kernel is asked here
  Napi::Env env = info.Env();
  Family family;
  if (info.Length() < 4 || !family_arg(info[0], family) || !info[1].IsString() || !info[2].IsNumber() ||
      !info[3].IsObject()) {
    throw Napi::TypeError::New(env, "dialectListRule(family, text, num, options[, packets, bytes])");
  }
  std::string text = info[1].As<Napi::String>();
  ParseError err;
  dialect::Rule rule;
  if (!dialect::parse_rule(text, family, rule, err, nullptr, true)) throw_parse(env, err);
  Napi::Object o = info[3].As<Napi::Object>();
  dialect::ListOptions lo;
  lo.numeric = o.Get("numeric").ToBoolean();
  lo.verbose = o.Get("verbose").ToBoolean();
  lo.exact = o.Get("exact").ToBoolean();
  lo.line_numbers = o.Get("lineNumbers").ToBoolean();
  bool lossless = true;
  if (info.Length() >= 6 && info[4].IsBigInt() && info[5].IsBigInt()) {
    rule.packets = info[4].As<Napi::BigInt>().Uint64Value(&lossless);
    rule.bytes = info[5].As<Napi::BigInt>().Uint64Value(&lossless);
  }
  std::string out;
  dialect::list_rule(rule, info[2].As<Napi::Number>().Uint32Value(), family, lo, out);
  return Napi::String::New(env, out);
}

// dialectListChain(family, { name, policy, packets, bytes, references }, rules, counters,
// options) → the chain as `iptables -L` lists it (header, column header, one line per rule).
// A rule that is not iptables text (nft's `# …`) lists as a comment line.
Napi::Value DialectListChain(const Napi::CallbackInfo& info) {
  dialect::OfflineNames offline;  // no kernel is asked here
  Napi::Env env = info.Env();
  Family family;
  if (info.Length() < 5 || !family_arg(info[0], family) || !info[1].IsObject() || !info[2].IsArray() ||
      !info[3].IsTypedArray() || !info[4].IsObject()) {
    throw Napi::TypeError::New(env, "dialectListChain(family, chain, rules, counters, options)");
  }
  Napi::Object chain = info[1].As<Napi::Object>();
  Napi::Array rules = info[2].As<Napi::Array>();
  Napi::BigUint64Array counters = info[3].As<Napi::BigUint64Array>();
  Napi::Object o = info[4].As<Napi::Object>();
  dialect::ListOptions lo;
  lo.numeric = o.Get("numeric").ToBoolean();
  lo.verbose = o.Get("verbose").ToBoolean();
  lo.exact = o.Get("exact").ToBoolean();
  lo.line_numbers = o.Get("lineNumbers").ToBoolean();
  std::string name = chain.Get("name").ToString();
  Napi::Value policy = chain.Get("policy");
  bool lossless = true;
  uint64_t packets = chain.Get("packets").IsBigInt() ? chain.Get("packets").As<Napi::BigInt>().Uint64Value(&lossless) : 0;
  uint64_t bytes = chain.Get("bytes").IsBigInt() ? chain.Get("bytes").As<Napi::BigInt>().Uint64Value(&lossless) : 0;
  uint32_t refs = chain.Get("references").IsNumber() ? chain.Get("references").As<Napi::Number>().Uint32Value() : 0;
  std::string out;
  dialect::list_header(name, policy.IsString() ? policy.As<Napi::String>().Utf8Value() : std::string(), packets, bytes,
                       refs, lo, out);
  for (uint32_t i = 0; i < rules.Length(); i++) {
    std::string text = rules.Get(i).ToString();
    if (!text.empty() && text[0] == '#') {
      // No iptables columns to fill: the line says what nft holds there.
      if (lo.line_numbers) {
        std::string n = std::to_string(i + 1);
        n.resize(std::max<size_t>(n.size(), 4), ' ');
        out += n + ' ';
      }
      out += "/* foreign rule, kept as it is: " + text.substr(text.find_first_not_of("# \t", 1) == std::string::npos ? text.size() : text.find_first_not_of("# \t", 1)) + " */\n";
      continue;
    }
    ParseError err;
    dialect::Rule rule;
    if (!dialect::parse_rule(text, family, rule, err, nullptr, true)) throw_parse(env, err);
    if (2 * i + 1 < counters.ElementLength()) {
      rule.packets = counters[2 * i];
      rule.bytes = counters[2 * i + 1];
    }
    dialect::list_rule(rule, i + 1, family, lo, out);
  }
  return Napi::String::New(env, out);
}

}  // namespace

[[noreturn]] void throw_parse(Napi::Env env, const dialect::ParseError& err) {
  Napi::Error e = Napi::Error::New(env, err.message.empty() ? std::string("cannot parse the rule") : err.message);
  e.Set("code", Napi::String::New(env, "EPARSE"));
  if (err.line) e.Set("line", Napi::Number::New(env, static_cast<double>(err.line)));
  if (!err.token.empty()) e.Set("token", Napi::String::New(env, err.token));
  if (!err.expected.empty()) e.Set("expected", Napi::String::New(env, err.expected));
  throw e;
}

void register_dialect(Napi::Env env, Napi::Object exports) {
  exports.Set("dialectRule", Napi::Function::New(env, DialectRule, "dialectRule"));
  exports.Set("dialectCanonical", Napi::Function::New(env, DialectCanonical, "dialectCanonical"));
  exports.Set("dialectRestore", Napi::Function::New(env, DialectRestore, "dialectRestore"));
  exports.Set("dialectListChain", Napi::Function::New(env, DialectListChain, "dialectListChain"));
  exports.Set("dialectListRule", Napi::Function::New(env, DialectListRule, "dialectListRule"));
}

}  // namespace iptkit
