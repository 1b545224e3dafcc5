// A table as the kernel holds it: one IPT_SO_GET_INFO and one IPT_SO_GET_ENTRIES (IP6T_… for
// IPv6) into a buffer, and the chains iptables lays out in it, found without libiptc:
//
//   [built-in chain: its rules, then its policy entry at the hook's underflow] per valid hook
//   [user-defined chain: an ERROR entry naming it, its rules, a RETURN entry] per chain
//   [an ERROR entry named ERROR: the end]
//
// A standard target's verdict is negative for ACCEPT/DROP/QUEUE/RETURN, else the offset it
// goes to: the next entry (falls through), or a chain's start (its first rule, or its RETURN
// entry when it has none): a jump. Every entry's counters come back with it, and the counters a
// replace hands back are indexed by entry number, so each rule keeps both.
#pragma once

#include <linux/netfilter.h>
#include <linux/netfilter/x_tables.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "../common/error.h"

namespace iptkit::legacy {

constexpr size_t kErrorTargetSize = XT_ALIGN(sizeof(struct xt_error_target));
constexpr const char* kHookChains[NF_INET_NUMHOOKS] = {"PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"};

// A raw socket of the family, for x_tables' getsockopts and setsockopts.
class XtSocket {
 public:
  explicit XtSocket(int family) : fd(socket(family, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW)) {}
  ~XtSocket() {
    if (fd >= 0) close(fd);
  }
  XtSocket(const XtSocket&) = delete;
  XtSocket& operator=(const XtSocket&) = delete;
  const int fd;
};

template <class T>
std::string what_table(const std::string& table) {
  return std::string(T::kFamilyName) + " table " + table;
}

// IPT_SO_GET_INFO (IP6T_…) of `table` into `info`; `found` false when the kernel has no such
// table (ENOENT). Asking for a table loads its module, as iptables does.
template <class T>
OpError get_info(const XtSocket& sock, const std::string& table, typename T::GetInfo& info, bool& found) {
  info = typename T::GetInfo{};
  std::strncpy(info.name, table.c_str(), sizeof info.name - 1);
  socklen_t len = sizeof info;
  found = getsockopt(sock.fd, T::kSockLevel, T::kGetInfo, &info, &len) == 0;
  if (found || errno == ENOENT) return {};
  int err = errno;
  return make_error(err, "read", "cannot open " + what_table<T>(table) + ": " + strerror(err), table);
}

template <class T>
OpError socket_error(const std::string& table) {
  int err = errno;
  return make_error(err, "read", "cannot open a socket for " + what_table<T>(table) + ": " + strerror(err), table);
}

// A replace from another process between GET_INFO and GET_ENTRIES makes the second fail with
// EAGAIN (the size changed): ask again, a bounded number of times.
constexpr int kReadAttempts = 5;

// GET_INFO, then GET_ENTRIES into `buf` (T::GetEntries, then the entries). `exists` false:
// the kernel has no such table.
template <class T>
OpError get_entries(const std::string& table, typename T::GetInfo& info, std::vector<char>& buf, bool& exists) {
  exists = false;
  XtSocket sock(T::kSocketFamily);
  if (sock.fd < 0) return socket_error<T>(table);
  for (int attempt = 0; attempt < kReadAttempts; attempt++) {
    bool found = false;
    if (OpError err = get_info<T>(sock, table, info, found)) return err;
    if (!found) return {};
    buf.assign(sizeof(typename T::GetEntries) + info.size, 0);
    auto* ge = reinterpret_cast<typename T::GetEntries*>(buf.data());
    std::strncpy(ge->name, table.c_str(), sizeof ge->name - 1);
    ge->size = info.size;
    socklen_t len = static_cast<socklen_t>(buf.size());
    if (getsockopt(sock.fd, T::kSockLevel, T::kGetEntries, ge, &len) == 0) {
      exists = true;
      return {};
    }
    int err = errno;
    if (err != EAGAIN) return make_error(err, "read", "cannot read " + what_table<T>(table) + ": " + strerror(err), table);
  }
  return make_error(EAGAIN, "read", what_table<T>(table) + " kept being replaced while it was read (" +
                                        std::to_string(kReadAttempts) + " attempts)", table);
}

template <class T>
class KernelTable {
 public:
  using Entry = typename T::Entry;

  struct Rule {
    uint32_t off;    // in entries()
    uint32_t index;  // entry number: where its counters are in a replace's old counters
  };
  struct Chain {
    std::string name;
    int hook = -1;               // a built-in chain's hook (NF_INET_*); -1: user-defined
    uint32_t start = 0;          // where a jump to it goes: its first rule, or its foot
    std::vector<Rule> rules;
    Rule foot{};                 // the policy entry (built-in) or the RETURN entry
    int policy = 0;              // built-in: the policy's verdict
    xt_counters counters{};      // built-in: the policy's counters
    uint32_t refs = 0;           // rules that jump or go to it
  };

  std::string name;
  typename T::GetInfo info{};
  std::vector<Chain> chains;

  const char* entries() const { return base_; }
  const Entry& entry(uint32_t off) const { return *reinterpret_cast<const Entry*>(entries() + off); }
  // The chain a jump's verdict names, or nullptr.
  const Chain* chain_at(uint32_t start) const {
    auto it = by_start_.find(start);
    return it == by_start_.end() ? nullptr : &chains[it->second];
  }
  const Chain* find(std::string_view chain) const {
    for (const Chain& c : chains) {
      if (c.name == chain) return &c;
    }
    return nullptr;
  }
  // What a rule's standard target does, by iptables' names. kNotStandard: an extension
  // target; kBad: a verdict iptables cannot write (a negative one it has no name for, or an
  // offset that is neither the next entry nor a chain's start).
  enum class Goes { kNotStandard, kVerdict, kFallThrough, kJump, kBad };
  Goes standard_target(const Entry& e, uint32_t off, const char*& to) const {
    to = nullptr;
    const auto* t = reinterpret_cast<const xt_entry_target*>(reinterpret_cast<const char*>(&e) + e.target_offset);
    if (t->u.user.name[0] != '\0' || t->u.target_size != XT_ALIGN(sizeof(xt_standard_target))) return Goes::kNotStandard;
    int verdict;
    memcpy(&verdict, t->data, sizeof verdict);
    switch (verdict) {
      case -NF_ACCEPT - 1: to = "ACCEPT"; return Goes::kVerdict;
      case -NF_DROP - 1: to = "DROP"; return Goes::kVerdict;
      case -NF_QUEUE - 1: to = "QUEUE"; return Goes::kVerdict;
      case XT_RETURN: to = "RETURN"; return Goes::kVerdict;
      default: break;
    }
    if (verdict < 0) return Goes::kBad;
    if (static_cast<uint32_t>(verdict) == off + e.next_offset) {
      to = "";
      return Goes::kFallThrough;
    }
    const Chain* c = chain_at(static_cast<uint32_t>(verdict));
    if (!c) return Goes::kBad;
    to = c->name.c_str();
    return Goes::kJump;
  }

  // GET_INFO and GET_ENTRIES of `table`, and its chains. `exists` false: no such table.
  OpError load(const std::string& table, bool& exists) {
    name = table;
    if (OpError err = get_entries<T>(table, info, buf_, exists)) return err;
    base_ = buf_.data() + sizeof(typename T::GetEntries);
    return exists ? parse() : OpError{};
  }

 private:
  OpError bad(const std::string& what) const {
    return make_error(EPROTO, "read", what_table<T>(name) + " is not laid out as iptables lays out a table: " + what, name);
  }

  OpError parse() {
    chains.clear();
    by_start_.clear();
    const char* base = entries();
    const uint32_t size = info.size;
    Chain* cur = nullptr;
    bool ended = false;
    uint32_t index = 0;
    auto close_user = [&]() -> bool {
      if (!cur || cur->hook >= 0) return true;
      if (cur->rules.empty()) return false;  // no RETURN entry
      cur->foot = cur->rules.back();
      cur->rules.pop_back();
      cur->start = cur->rules.empty() ? cur->foot.off : cur->rules.front().off;
      cur = nullptr;
      return true;
    };
    for (uint32_t off = 0; off < size; index++) {
      if (size - off < sizeof(Entry)) return bad("an entry runs past the end");
      const Entry& e = *reinterpret_cast<const Entry*>(base + off);
      if (e.next_offset < sizeof(Entry) || e.next_offset > size - off || e.target_offset < sizeof(Entry) ||
          e.target_offset + sizeof(xt_entry_target) > e.next_offset) {
        return bad("an entry has a bad size at offset " + std::to_string(off));
      }
      if (ended) return bad("entries after the end");
      const auto* t = reinterpret_cast<const xt_entry_target*>(base + off + e.target_offset);
      int hook = -1;
      for (unsigned h = 0; h < NF_INET_NUMHOOKS; h++) {
        if ((info.valid_hooks & (1u << h)) && info.hook_entry[h] == off) hook = static_cast<int>(h);
      }
      if (hook >= 0) {
        if (cur && cur->hook < 0) return bad("a hook's chain starts inside chain " + cur->name);
        cur = &chains.emplace_back();
        cur->name = kHookChains[hook];
        cur->hook = hook;
        cur->start = off;
      }
      if (std::strncmp(t->u.user.name, XT_ERROR_TARGET, XT_EXTENSION_MAXNAMELEN) == 0) {
        if (cur && cur->hook >= 0) return bad("chain " + cur->name + " has no policy entry");
        if (!close_user()) return bad("chain " + cur->name + " has no RETURN entry");
        if (t->u.target_size < sizeof(xt_error_target)) return bad("an ERROR entry is too small");
        const auto* et = reinterpret_cast<const xt_error_target*>(t);
        std::string_view label(et->errorname, strnlen(et->errorname, sizeof et->errorname));
        if (off + e.next_offset == size) {
          ended = true;
        } else {
          cur = &chains.emplace_back();
          cur->name.assign(label.data(), label.size());
        }
        off += e.next_offset;
        continue;
      }
      if (!cur) return bad("a rule outside every chain at offset " + std::to_string(off));
      if (cur->hook >= 0 && info.underflow[cur->hook] == off) {
        cur->foot = Rule{off, index};
        cur->counters = e.counters;
        if (t->u.user.name[0] != '\0' || t->u.target_size != XT_ALIGN(sizeof(xt_standard_target))) {
          return bad("chain " + cur->name + "'s policy is not a standard target");
        }
        memcpy(&cur->policy, t->data, sizeof cur->policy);
        cur = nullptr;
      } else {
        cur->rules.push_back(Rule{off, index});
      }
      off += e.next_offset;
    }
    if (!ended) return bad("no ERROR entry at the end");
    if (index != info.num_entries) return bad(std::to_string(index) + " entries where the kernel counts " + std::to_string(info.num_entries));
    for (size_t i = 0; i < chains.size(); i++) by_start_.emplace(chains[i].start, i);
    // References: what iptables -L prints after a user-defined chain's name.
    for (const Chain& c : chains) {
      for (const Rule& r : c.rules) {
        const char* to = nullptr;
        Goes goes = standard_target(entry(r.off), r.off, to);
        if (goes == Goes::kBad) return bad("chain " + c.name + " has a rule whose standard verdict iptables cannot write");
        if (goes == Goes::kJump) chains[by_start_.at(jump_offset(entry(r.off)))].refs++;
      }
    }
    return {};
  }

  static uint32_t jump_offset(const Entry& e) {
    int verdict;
    memcpy(&verdict, reinterpret_cast<const char*>(&e) + e.target_offset + sizeof(xt_entry_target), sizeof verdict);
    return static_cast<uint32_t>(verdict);
  }

  std::vector<char> buf_;
  const char* base_ = nullptr;
  std::unordered_map<uint32_t, size_t> by_start_;
};

}  // namespace iptkit::legacy
