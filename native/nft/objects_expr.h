// Native expressions (and a rule's comment) between the object model (objects.h) and libnftnl.
// One table of fields per expression: what a field is called, its libnftnl attribute and kind,
// and for enumerations the kernel's names as nft prints them.
#pragma once

#include <libnftnl/rule.h>

#include <string>

#include "objects.h"

namespace iptkit {
namespace nft {

// Adds `e` to `r`. False with `err` ("FIELD: why", or "expr: …") for a field it cannot take.
bool encode_expr(const ObjExpr& e, nftnl_rule* r, std::string& err);
// Every expression and the comment of `rule` into `r`. `err` names the expression's index.
bool encode_rule_body(const ObjRule& rule, nftnl_rule* r, std::string& err);
// A kernel rule into the model; an expression not in the table makes the rule `foreign`.
void decode_rule(const nftnl_rule* r, ObjRule& out);

}  // namespace nft
}  // namespace iptkit
