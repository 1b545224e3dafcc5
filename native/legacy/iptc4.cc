// The IPv4 instance of the legacy back end: libip4tc (iptc_*) over struct ipt_entry.
#include <climits>

#include <libiptc/libiptc.h>

#include "backend.h"
#include "table.h"

namespace iptkit::legacy {
namespace {

struct Ipv4 {
  using Entry = ipt_entry;
  static constexpr Family family = Family::ipv4;
  static constexpr const char* kFamilyName = "ipv4";
  static constexpr size_t kAddrLen = sizeof(in_addr);
  static constexpr uint8_t kGotoFlag = IPT_F_GOTO;
  static constexpr uint8_t kFragFlag = IPT_F_FRAG;
  static constexpr uint8_t kProtoFlag = 0;
  using GetInfo = ipt_getinfo;
  static constexpr int kSocketFamily = AF_INET;
  static constexpr int kSockLevel = IPPROTO_IP;
  static constexpr int kGetInfo = IPT_SO_GET_INFO;
  using GetEntries = ipt_get_entries;
  static constexpr int kGetEntries = IPT_SO_GET_ENTRIES;

  static ipt_ip& ip(Entry& e) { return e.ip; }
  static const ipt_ip& ip(const Entry& e) { return e.ip; }

  static xtc_handle* init(const char* table) { return iptc_init(table); }
  static void free(xtc_handle* h) { iptc_free(h); }
  static const char* strerror(int err) { return iptc_strerror(err); }
  static const char* first_chain(xtc_handle* h) { return iptc_first_chain(h); }
  static const char* next_chain(xtc_handle* h) { return iptc_next_chain(h); }
  static const Entry* first_rule(const char* c, xtc_handle* h) { return iptc_first_rule(c, h); }
  static const Entry* next_rule(const Entry* e, xtc_handle* h) { return iptc_next_rule(e, h); }
  static const char* get_target(const Entry* e, xtc_handle* h) { return iptc_get_target(e, h); }
  static int builtin(const char* c, xtc_handle* h) { return iptc_builtin(c, h); }
  static int is_chain(const char* c, xtc_handle* h) { return iptc_is_chain(c, h); }
  static const char* get_policy(const char* c, xt_counters* n, xtc_handle* h) { return iptc_get_policy(c, n, h); }
  static int get_references(unsigned* refs, const char* c, xtc_handle* h) { return iptc_get_references(refs, c, h); }
  static int insert_entry(const char* c, const Entry* e, unsigned pos, xtc_handle* h) {
    return iptc_insert_entry(c, e, pos, h);
  }
  static int append_entry(const char* c, const Entry* e, xtc_handle* h) { return iptc_append_entry(c, e, h); }
  static int delete_num_entry(const char* c, unsigned pos, xtc_handle* h) { return iptc_delete_num_entry(c, pos, h); }
  static int flush_entries(const char* c, xtc_handle* h) { return iptc_flush_entries(c, h); }
  static int create_chain(const char* c, xtc_handle* h) { return iptc_create_chain(c, h); }
  static int delete_chain(const char* c, xtc_handle* h) { return iptc_delete_chain(c, h); }
  static int set_policy(const char* c, const char* p, xt_counters* n, xtc_handle* h) {
    return iptc_set_policy(c, p, n, h);
  }
  static int commit(xtc_handle* h) { return iptc_commit(h); }
};

}  // namespace

OpError read_v4(const std::string& table, std::string& wire, std::vector<uint64_t>& counters) {
  return read_table<Ipv4>(table, wire, counters);
}
OpError commit_v4(std::vector<commit::TablePlan>& plans) { return commit_tables<Ipv4>(plans); }
std::unique_ptr<commit::RuleSink> entry_sink_v4() { return EntrySink<Ipv4>::make(); }
OpError fingerprint_v4(const std::string& table, bool& exists, uint64_t& digest) {
  return table_fingerprint<Ipv4>(table, exists, digest);
}
OpError holds_rules_v4(const std::string& table, bool& holds) { return holds_rules<Ipv4>(table, holds); }
OpError recover_v4(const std::string& path, const std::string& body, bool keep_if_left, Recovery& out) {
  return recover_record<Ipv4>(path, body, keep_if_left, out);
}

}  // namespace iptkit::legacy
