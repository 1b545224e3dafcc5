// The tables and base chains iptables-nft knows (iptables 1.8.9 nft.c, xtables_ipv4): for each
// built-in chain its hook, chain type and priority, so that a chain iptkit creates is the one
// iptables-nft would have created. The same values serve ip and ip6.
#pragma once

#include <linux/netfilter.h>

#include <cstdint>
#include <string_view>

namespace iptkit {
namespace nft {

struct BuiltinChain {
  const char* name;
  const char* type;  // nf_tables chain type: "filter", "nat", "route"
  uint32_t hook;     // NF_INET_*
  int32_t prio;      // NF_IP_PRI_*
};

struct BuiltinTable {
  const char* name;
  BuiltinChain chains[5];
  size_t count;
};

// Priorities as iptables-nft sets them (NF_IP_PRI_RAW, _MANGLE, _NAT_DST, _FILTER, _SECURITY,
// _NAT_SRC); note iptables-nft uses 150 for security where x_tables uses 50.
inline constexpr BuiltinTable kBuiltinTables[] = {
    {"filter",
     {{"INPUT", "filter", NF_INET_LOCAL_IN, 0},
      {"FORWARD", "filter", NF_INET_FORWARD, 0},
      {"OUTPUT", "filter", NF_INET_LOCAL_OUT, 0}},
     3},
    {"nat",
     {{"PREROUTING", "nat", NF_INET_PRE_ROUTING, -100},
      {"INPUT", "nat", NF_INET_LOCAL_IN, 100},
      {"OUTPUT", "nat", NF_INET_LOCAL_OUT, -100},
      {"POSTROUTING", "nat", NF_INET_POST_ROUTING, 100}},
     4},
    {"mangle",
     {{"PREROUTING", "filter", NF_INET_PRE_ROUTING, -150},
      {"INPUT", "filter", NF_INET_LOCAL_IN, -150},
      {"FORWARD", "filter", NF_INET_FORWARD, -150},
      {"OUTPUT", "route", NF_INET_LOCAL_OUT, -150},
      {"POSTROUTING", "filter", NF_INET_POST_ROUTING, -150}},
     5},
    {"raw",
     {{"PREROUTING", "filter", NF_INET_PRE_ROUTING, -300},
      {"OUTPUT", "filter", NF_INET_LOCAL_OUT, -300}},
     2},
    {"security",
     {{"INPUT", "filter", NF_INET_LOCAL_IN, 150},
      {"FORWARD", "filter", NF_INET_FORWARD, 150},
      {"OUTPUT", "filter", NF_INET_LOCAL_OUT, 150}},
     3},
};

inline const BuiltinTable* find_builtin_table(std::string_view name) {
  for (const auto& t : kBuiltinTables) {
    if (name == t.name) return &t;
  }
  return nullptr;
}

inline const BuiltinChain* find_builtin_chain(const BuiltinTable* t, std::string_view name) {
  if (!t) return nullptr;
  for (size_t i = 0; i < t->count; i++) {
    if (name == t->chains[i].name) return &t->chains[i];
  }
  return nullptr;
}

}  // namespace nft
}  // namespace iptkit
