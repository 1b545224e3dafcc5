// Native nftables objects of a table of the caller's own (Docker's `docker-bridges` is one): base
// and regular chains, sets and verdict maps with their elements, rules as lists of native
// expressions with a comment as user data. Not the iptables dialect: nothing here is printed
// as iptables-save text. objects_expr.cc codes expressions, objects_read.cc reads a table into
// this model, objects_commit.cc makes the kernel's table what a description says.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "../common/error.h"

namespace iptkit {
namespace nft {

// One field of an expression as the caller names it: a number or a string.
struct ExprField {
  std::string key;
  bool is_str = false;
  uint64_t num = 0;
  std::string str;
};

struct ObjExpr {
  std::string name;  // libnftnl's expression name: payload, meta, cmp, …
  std::vector<ExprField> fields;
};



// The key types a set can have here, with what the kernel and nft need to know of them.
struct SetKeyType {
  const char* name;  // nft's datatype name
  uint32_t id;       // nft's datatype number (NFTNL_SET_KEY_TYPE)
  uint32_t len;      // bytes
  uint32_t byteorder;  // nft's set user data: 1 host endian, 2 big endian
};
const SetKeyType* find_set_key_type(const std::string& name);
const SetKeyType* find_set_key_type(uint32_t id);

struct ObjElem {
  std::string key;  // the key's bytes, key-type length
  int32_t verdict = 0;  // maps: NF_ACCEPT, NF_DROP, NFT_JUMP, NFT_GOTO, NFT_RETURN, …
  std::string chain;    // jump / goto
};

struct ObjSet {
  std::string name;
  const SetKeyType* key = nullptr;
  bool verdict_map = false;  // `type KEY : verdict`
  uint32_t flags = 0;        // NFT_SET_* beyond NFT_SET_MAP (constant only, for now)
  std::vector<ObjElem> elems;
};

struct ObjRule {
  std::vector<ObjExpr> exprs;
  std::string comment;  // user data NFTNL_UDATA_RULE_COMMENT, as nft writes it
  bool has_comment = false;
  bool foreign = false;  // read back with an expression this model does not know
  // The anonymous sets its lookups name `__set<index>` (constant, nft's `{ a, b }`); the kernel
  // gives them names of its own, read back as these.
  std::vector<ObjSet> anon;
};

struct ObjChain {
  std::string name;
  bool base = false;
  std::string type;  // filter | nat | route
  uint32_t hook = 0;
  int32_t priority = 0;
  uint32_t policy = 1;  // NF_ACCEPT
  std::vector<ObjRule> rules;
};

struct ObjTable {
  bool v6 = false;
  std::string name;
  std::vector<ObjSet> sets;  // maps too
  std::vector<ObjChain> chains;
};

// A rule's identity for comparison: its expressions and comment, counters' values left out.
std::string rule_key(const ObjRule& r);

// The table as the kernel has it; `exists` false when there is none. Retries an interrupted
// dump. Runs in the calling thread's namespace.
OpError objects_read(bool v6, const std::string& name, ObjTable& out, bool& exists, uint32_t& generation);

// Makes the kernel's tables what `wants` describe (one or more, of either family), in one batch
// carrying the generation its plan was made at; re-planned when another writer got in between
// (ERESTART). `merge`: chains and sets a description does not name are left alone; otherwise
// each table holds nothing else. `attempts`: how many times it was planned.
OpError objects_commit(const std::vector<ObjTable>& wants, bool merge, int& attempts);

}  // namespace nft
}  // namespace iptkit
