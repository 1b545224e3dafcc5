// RAII owners for libnftnl objects: every nftnl_* allocation is freed by its own destructor,
// whatever path the code leaves by.
#pragma once

#include <libnftnl/chain.h>
#include <libnftnl/expr.h>
#include <libnftnl/gen.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>

#include <memory>

namespace iptkit {
namespace nft {

struct TableFree { void operator()(nftnl_table* p) const { nftnl_table_free(p); } };
struct ChainFree { void operator()(nftnl_chain* p) const { nftnl_chain_free(p); } };
struct RuleFree { void operator()(nftnl_rule* p) const { nftnl_rule_free(p); } };
struct ExprFree { void operator()(nftnl_expr* p) const { nftnl_expr_free(p); } };
struct GenFree { void operator()(nftnl_gen* p) const { nftnl_gen_free(p); } };
struct SetFree { void operator()(nftnl_set* p) const { nftnl_set_free(p); } };
struct UdataFree { void operator()(nftnl_udata_buf* p) const { nftnl_udata_buf_free(p); } };
struct SetElemFree { void operator()(nftnl_set_elem* p) const { nftnl_set_elem_free(p); } };

using TablePtr = std::unique_ptr<nftnl_table, TableFree>;
using ChainPtr = std::unique_ptr<nftnl_chain, ChainFree>;
using RulePtr = std::unique_ptr<nftnl_rule, RuleFree>;
using ExprPtr = std::unique_ptr<nftnl_expr, ExprFree>;
using GenPtr = std::unique_ptr<nftnl_gen, GenFree>;
using SetPtr = std::unique_ptr<nftnl_set, SetFree>;
using UdataPtr = std::unique_ptr<nftnl_udata_buf, UdataFree>;
using SetElemPtr = std::unique_ptr<nftnl_set_elem, SetElemFree>;

}  // namespace nft
}  // namespace iptkit
