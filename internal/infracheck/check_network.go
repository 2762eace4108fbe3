package infracheck

import (
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

var worldCIDRs = []string{"0.0.0.0/0", "::/0"}

// ingressRule is one ingress permission, whatever resource form declares it.
type ingressRule struct {
	where   string
	rng     hcl.Range
	sgExpr  hcl.Expression // the security group it belongs to; nil for inline rules
	inline  string         // owning aws_security_group key for inline rules
	cidrs   []hcl.Expression
	from    hcl.Expression
	to      hcl.Expression
	forEach hcl.Expression
}

// CheckWorldIngress: nothing is reachable from the whole internet except the ALB on 80
// and 443. CIDRs are evaluated with the variables' defaults; CIDRs that come from
// variables must also be guarded by a validation that rejects the world range.
func CheckWorldIngress(m *Module) []Finding {
	r := &report{check: "world-ingress"}
	ev := m.Evaluator("staging", nil)

	albGroups := map[string]bool{}
	for _, lb := range m.ResourcesOfType("aws_lb") {
		if a := lb.Attr("security_groups"); a != nil {
			for _, sg := range m.ReferencedResources(a.Expr, "aws_security_group") {
				albGroups[sg] = true
			}
		}
	}

	var rules []ingressRule
	for _, sg := range m.ResourcesOfType("aws_security_group") {
		for _, in := range sg.Nested("ingress") {
			rules = append(rules, ingressRule{
				where: sg.Key() + " ingress", rng: in.DefRange(), inline: sg.Key(),
				cidrs: attrExprs(in.Body, "cidr_blocks", "ipv6_cidr_blocks"),
				from:  attrExpr(in.Body, "from_port"), to: attrExpr(in.Body, "to_port"),
			})
		}
	}
	for _, b := range m.ResourcesOfType("aws_security_group_rule") {
		if t := b.Attr("type"); t != nil {
			if v, _ := ev.Eval(t.Expr); known(v) && v.Type() == cty.String && v.AsString() != "ingress" {
				continue
			}
		}
		rules = append(rules, ingressRule{
			where: b.Key(), rng: b.Range, sgExpr: attrExpr(b.Body, "security_group_id"),
			cidrs: attrExprs(b.Body, "cidr_blocks", "ipv6_cidr_blocks"),
			from:  attrExpr(b.Body, "from_port"), to: attrExpr(b.Body, "to_port"), forEach: attrExpr(b.Body, "for_each"),
		})
	}
	for _, b := range m.ResourcesOfType("aws_vpc_security_group_ingress_rule") {
		rules = append(rules, ingressRule{
			where: b.Key(), rng: b.Range, sgExpr: attrExpr(b.Body, "security_group_id"),
			cidrs: attrExprs(b.Body, "cidr_ipv4", "cidr_ipv6"),
			from:  attrExpr(b.Body, "from_port"), to: attrExpr(b.Body, "to_port"), forEach: attrExpr(b.Body, "for_each"),
		})
	}

	for _, rule := range rules {
		world := false
		for _, c := range rule.cidrs {
			w, problem := worldReachable(m, ev, c, rule.forEach)
			if problem != "" {
				r.add(c.Range(), "%s: %s", rule.where, problem)
			}
			world = world || w
		}
		if !world {
			continue
		}
		var groups []string
		if rule.inline != "" {
			groups = []string{rule.inline}
		} else if rule.sgExpr != nil {
			groups = m.ReferencedResources(rule.sgExpr, "aws_security_group")
		}
		onALB := len(groups) > 0
		for _, g := range groups {
			onALB = onALB && albGroups[g]
		}
		from, okFrom := evalNumber(ev, rule.from)
		to, okTo := evalNumber(ev, rule.to)
		webPort := okFrom && okTo && from == to && (from == 80 || from == 443)
		if !onALB || !webPort {
			r.add(rule.rng, "%s allows ingress from the whole internet: only the load balancer's security group may, and only on ports 80 and 443", rule.where)
		}
	}
	return r.out
}

// worldReachable evaluates one CIDR expression (per for_each element when it uses
// each.value) and reports whether it contains a world range, or why that cannot be ruled
// out.
func worldReachable(m *Module, ev *Evaluator, cidr, forEach hcl.Expression) (bool, string) {
	source := cidr
	usesEach := slices.ContainsFunc(Refs(cidr), func(r Ref) bool { return r.Key == "each" })
	if usesEach {
		if forEach == nil {
			return false, "uses each.value without for_each"
		}
		source = forEach
	}
	// A variable can be set to anything: it must reject the world range itself.
	for _, ref := range m.DeepRefs(source) {
		if ref.Kind != "var" {
			continue
		}
		v := m.Variables[strings.TrimPrefix(ref.Key, "var.")]
		if v == nil || !validationMentions(v, "0.0.0.0/0") {
			return false, ref.Key + " feeds an ingress CIDR: give the variable a validation that rejects 0.0.0.0/0"
		}
	}
	val, _ := ev.Eval(source)
	if !val.IsWhollyKnown() {
		// Unknown only because a resource attribute (e.g. a VPC's CIDR) is involved.
		return false, ""
	}
	list, ok := stringsOf(val)
	if !ok {
		if val.IsNull() {
			return false, ""
		}
		return false, "CIDR does not evaluate to strings"
	}
	for _, c := range list {
		if slices.Contains(worldCIDRs, c) {
			return true, ""
		}
	}
	return false, ""
}

func validationMentions(v *Block, s string) bool {
	for _, val := range v.Nested("validation") {
		if c := val.Body.Attributes["condition"]; c != nil {
			rng := c.Expr.Range()
			if strings.Contains(string(rng.SliceBytes(v.srcBytes())), s) {
				return true
			}
		}
	}
	return false
}

func attrExpr(body *hclsyntax.Body, name string) hcl.Expression {
	if a := body.Attributes[name]; a != nil {
		return a.Expr
	}
	return nil
}

func attrExprs(body *hclsyntax.Body, names ...string) []hcl.Expression {
	var out []hcl.Expression
	for _, n := range names {
		if e := attrExpr(body, n); e != nil {
			out = append(out, e)
		}
	}
	return out
}

func evalNumber(ev *Evaluator, e hcl.Expression) (float64, bool) {
	if e == nil {
		return 0, false
	}
	v, _ := ev.Eval(e)
	return numberOf(v)
}
