// A read that holds some chains natively: the big chains a caller owns outright (Docker's
// DOCKER chains, one rule per published port) stay here as the kernel's canonical lines, and
// JavaScript gets the rest of each table and, per held chain, only its rule count and the
// interfaces its rules name. A commit then plans a held chain against its desired texts
// (a `lines=` chain of the commit wire) natively, under the same guard as the read (legacy:
// the xtables lock and the rule counts; nft: the generation), so that only what changes
// crosses into JavaScript.
#pragma once

#include <napi.h>

#include <memory>
#include <string>
#include <vector>

#include "../commit/plan.h"
#include "../commit/wire_text.h"
#include "current.h"

namespace iptkit::restore {

struct HeldRead {
  bool nft = false, v6 = false;
  std::vector<CurrentTable> tables;  // the tables read that exist, with every chain
  const CurrentTable* find(std::string_view name) const {
    for (const CurrentTable& t : tables) if (t.name == name) return &t;
    return nullptr;
  }
};

// What the lines= chains of one table's plan came to.
struct HeldOutcome {
  bool unchanged = false;  // the whole table stays as read: not committed
  size_t added = 0, kept = 0;
};

// Plans the lines= chains of `plan` against `current` (null: the table is not there yet):
// their rules kept where the text stays (counters too), the rest parsed as new rules; a
// desired text that is not canonical (iptables-save would print it otherwise) is EINVAL
// naming it, since it would never match the kernel's. Then says whether the whole plan
// leaves the table as read. `wire`, if given, is the text the lines are views into: what
// precedes a new chain's line being planned is given back as it goes (release_before).
OpError plan_held(commit::TablePlan& plan, const CurrentTable* current, Family family, bool keeps_are_handles,
                  HeldOutcome& out, commit::WireText* wire = nullptr);

// A commit's wires parsed into plans, their lines= chains planned against `held` (EINVAL when
// there are some and no held read); a table the plan leaves as read is not among `plans`.
// outcomes: one per wire.
// `sink` makes each plan's RuleSink (commit/plan.h) before its wire is parsed: the back end's,
// which takes each new rule as it is planned (plan_held needs one).
// Each wire is freed as soon as its table is planned: nothing reads it again (its held
// chains' line views go with it, and a parsed Rule holds no view into it). 30 MB for a
// 300,000-rule commit, unmapped while the next table's rules are made, before the peak.
using SinkFactory = std::unique_ptr<commit::RuleSink> (*)();
OpError plan_wires(std::vector<commit::WireText>& wires, Family family, const HeldRead* held, bool keeps_are_handles,
                   std::vector<commit::TablePlan>& plans, std::vector<HeldOutcome>& outcomes, SinkFactory sink);

// What a commit resolves with: per wire, { committed, added, kept } (added/kept: of its
// lines= chains).
Napi::Value outcomes_js(Napi::Env env, const std::vector<HeldOutcome>& outcomes);

// The held read a commit was given (its last argument; null/undefined: none).
std::shared_ptr<const HeldRead> arg_held(const Napi::CallbackInfo& info, size_t i);

// readHolding(backend, family, netns, tables, hold) → Promise (see src/native-binding.ts)
Napi::Value ReadHolding(const Napi::CallbackInfo& info);

}  // namespace iptkit::restore
