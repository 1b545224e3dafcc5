// RAII owners for libnftnl objects: every nftnl_* allocation is freed by its own destructor,
// whatever path the code leaves by.
#pragma once

#include <libnftnl/chain.h>
#include <libnftnl/expr.h>
#include <libnftnl/gen.h>
#include <libnftnl/rule.h>
#include <libnftnl/table.h>

#include <memory>

namespace iptkit {
namespace nft {

struct TableFree { void operator()(nftnl_table* p) const { nftnl_table_free(p); } };
struct ChainFree { void operator()(nftnl_chain* p) const { nftnl_chain_free(p); } };
struct RuleFree { void operator()(nftnl_rule* p) const { nftnl_rule_free(p); } };
struct ExprFree { void operator()(nftnl_expr* p) const { nftnl_expr_free(p); } };
struct GenFree { void operator()(nftnl_gen* p) const { nftnl_gen_free(p); } };

using TablePtr = std::unique_ptr<nftnl_table, TableFree>;
using ChainPtr = std::unique_ptr<nftnl_chain, ChainFree>;
using RulePtr = std::unique_ptr<nftnl_rule, RuleFree>;
using ExprPtr = std::unique_ptr<nftnl_expr, ExprFree>;
using GenPtr = std::unique_ptr<nftnl_gen, GenFree>;

}  // namespace nft
}  // namespace iptkit
