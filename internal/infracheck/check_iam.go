package infracheck

import (
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// statement is one statement of an aws_iam_policy_document, as far as it can be known
// without AWS: literal actions and resources, principals and condition keys.
type statement struct {
	doc        string // "data.aws_iam_policy_document.x" that declares it
	rng        hcl.Range
	effect     string
	actions    []string
	notActions bool
	resources  []string // literal elements only; references are left out
	wildcard   bool     // a resource is the literal "*"
	anonymous  bool     // a principal is "*"
	federated  bool
	conditions map[string][]string // variable → literal values
}

func policyStatements(doc *Block) []statement {
	if doc == nil {
		return nil
	}
	ev := (&Module{}).Evaluator("staging", nil)
	var out []statement
	for _, blk := range doc.Nested("statement") {
		st := statement{rng: blk.DefRange(), effect: "Allow", conditions: map[string][]string{}}
		if v, _ := ev.Eval(attrOrNull(blk.Body, "effect")); known(v) && v.Type() == cty.String {
			st.effect = v.AsString()
		}
		if a := blk.Body.Attributes["actions"]; a != nil {
			st.actions = literalStrings(a.Expr)
		}
		st.notActions = blk.Body.Attributes["not_actions"] != nil
		if a := blk.Body.Attributes["resources"]; a != nil {
			st.resources = literalStrings(a.Expr)
			st.wildcard = slices.Contains(st.resources, "*")
		}
		for _, p := range nestedBlocks(blk.Body, "principals") {
			typ, _ := ev.Eval(attrOrNull(p.Body, "type"))
			ids := literalStrings(attrOrNull(p.Body, "identifiers"))
			if known(typ) && typ.Type() == cty.String {
				st.anonymous = st.anonymous || typ.AsString() == "*" || (typ.AsString() == "AWS" && slices.Contains(ids, "*"))
				st.federated = st.federated || typ.AsString() == "Federated"
			}
		}
		for _, c := range nestedBlocks(blk.Body, "condition") {
			variable, _ := ev.Eval(attrOrNull(c.Body, "variable"))
			if known(variable) && variable.Type() == cty.String {
				st.conditions[variable.AsString()] = literalStrings(attrOrNull(c.Body, "values"))
			}
		}
		out = append(out, st)
	}
	return out
}

// documentStatements returns the statements a policy document ("data.aws_iam_policy_document.x")
// produces: its own and those of the documents it merges in through
// source_policy_documents or override_policy_documents, recursively, so that sharing
// statements between documents cannot hide them from the checks.
func (m *Module) documentStatements(key string) []statement {
	var out []statement
	seen := map[string]bool{}
	var walk func(string)
	walk = func(key string) {
		if seen[key] {
			return
		}
		seen[key] = true
		doc := m.Data[strings.TrimPrefix(key, "data.")]
		if doc == nil {
			return
		}
		for _, attr := range []string{"source_policy_documents", "override_policy_documents"} {
			if a := doc.Attr(attr); a != nil {
				for _, d := range m.ReferencedResources(a.Expr, "aws_iam_policy_document") {
					walk(d)
				}
			}
		}
		for _, st := range policyStatements(doc) {
			st.doc = key
			out = append(out, st)
		}
	}
	walk(key)
	return out
}

func attrOrNull(body *hclsyntax.Body, name string) hcl.Expression {
	if a := body.Attributes[name]; a != nil {
		return a.Expr
	}
	return hcl.StaticExpr(cty.NullVal(cty.DynamicPseudoType), body.SrcRange)
}

// literalStrings returns the literal string elements of a tuple expression (or a single
// literal string); elements built from references are skipped.
func literalStrings(e hcl.Expression) []string {
	var exprs []hcl.Expression
	if tup, ok := e.(*hclsyntax.TupleConsExpr); ok {
		for _, x := range tup.Exprs {
			exprs = append(exprs, x)
		}
	} else {
		exprs = []hcl.Expression{e}
	}
	var out []string
	for _, x := range exprs {
		if len(x.Variables()) > 0 {
			continue
		}
		if v, diags := x.Value(nil); !diags.HasErrors() && known(v) && v.Type() == cty.String {
			out = append(out, v.AsString())
		}
	}
	return out
}

// CheckLambdaIAM: each Lambda's role has only inline policies written as
// aws_iam_policy_document (so they can be read here) with no wildcard actions; passing
// roles and running tasks are limited to named resources.
func CheckLambdaIAM(m *Module) []Finding {
	r := &report{check: "lambda-iam"}
	fns := m.ResourcesOfType("aws_lambda_function")
	if len(fns) == 0 {
		r.add(hcl.Range{}, "no aws_lambda_function: the migration hook and jobs Lambdas are missing")
	}
	for _, fn := range fns {
		roleAttr := fn.Attr("role")
		var roles []string
		if roleAttr != nil {
			roles = m.ReferencedResources(roleAttr.Expr, "aws_iam_role")
		}
		if len(roles) != 1 {
			r.add(fn.Range, "%s: role must reference one aws_iam_role of this configuration", fn.Key())
			continue
		}
		role := roles[0]
		for _, typ := range []string{"aws_iam_role_policy_attachment", "aws_iam_role_policy_attachments_exclusive", "aws_iam_policy_attachment"} {
			for _, att := range m.ResourcesOfType(typ) {
				for _, name := range []string{"role", "roles", "role_name"} {
					if a := att.Attr(name); a != nil && m.RefersTo(a.Expr, role) {
						r.add(att.Range, "%s attaches a managed policy to %s (role of %s): managed policies are broader than the function needs, write an inline aws_iam_policy_document", att.Key(), role, fn.Key())
					}
				}
			}
		}
		if a := m.Resources[role].Attr("managed_policy_arns"); a != nil {
			r.add(a.SrcRange, "%s: managed_policy_arns on a Lambda role: use an inline aws_iam_policy_document", role)
		}
		found := false
		for _, pol := range m.ResourcesOfType("aws_iam_role_policy") {
			ra := pol.Attr("role")
			if ra == nil || !m.RefersTo(ra.Expr, role) {
				continue
			}
			found = true
			pa := pol.Attr("policy")
			var docs []string
			if pa != nil {
				docs = m.ReferencedResources(pa.Expr, "aws_iam_policy_document")
			}
			if len(docs) == 0 {
				r.add(pol.Range, "%s: write the policy as a data \"aws_iam_policy_document\" so its privileges can be checked", pol.Key())
			}
			for _, d := range docs {
				checkLeastPrivilege(r, m.documentStatements(d))
			}
		}
		if !found {
			r.add(fn.Range, "%s: its role %s has no inline policy (aws_iam_role_policy)", fn.Key(), role)
		}
	}
	return r.out
}

func checkLeastPrivilege(r *report, sts []statement) {
	for _, st := range sts {
		doc := st.doc
		if st.effect != "Allow" {
			continue
		}
		if st.notActions {
			r.add(st.rng, "%s: not_actions grants everything else; list the actions", doc)
		}
		for _, a := range st.actions {
			if a == "*" || strings.HasSuffix(a, ":*") {
				r.add(st.rng, "%s: action %q is a wildcard; list the actions the function calls", doc, a)
			}
			switch strings.ToLower(a) {
			case "iam:passrole":
				if st.wildcard {
					r.add(st.rng, "%s: iam:PassRole on \"*\": name the task roles", doc)
				}
				if _, ok := st.conditions["iam:PassedToService"]; !ok {
					r.add(st.rng, "%s: iam:PassRole needs condition iam:PassedToService = ecs-tasks.amazonaws.com", doc)
				}
			case "ecs:runtask", "lambda:invokefunction", "codedeploy:putlifecycleeventhookexecutionstatus":
				if st.wildcard {
					r.add(st.rng, "%s: %s on \"*\": name the resource (task family, function, deployment group)", doc, a)
				}
			}
		}
	}
}

// CheckCIOIDC: the CI role trusts GitHub's OIDC tokens for the audience sts.amazonaws.com
// and for named subjects (repository plus environment or branch) only.
func CheckCIOIDC(m *Module) []Finding {
	r := &report{check: "ci-oidc"}
	federated := 0
	for _, key := range sortedKeys(m.Data) {
		doc := m.Data[key]
		if doc.Labels[0] != "aws_iam_policy_document" {
			continue
		}
		for _, st := range policyStatements(doc) {
			if !st.federated {
				continue
			}
			federated++
			if aud := st.conditions["token.actions.githubusercontent.com:aud"]; !slices.Equal(aud, []string{"sts.amazonaws.com"}) {
				r.add(st.rng, "data.%s: federated trust needs condition token.actions.githubusercontent.com:aud = sts.amazonaws.com", key)
			}
			if _, ok := st.conditions["token.actions.githubusercontent.com:sub"]; !ok {
				r.add(st.rng, "data.%s: federated trust needs a token.actions.githubusercontent.com:sub condition naming the repository and environment or branch", key)
			}
		}
		// Subjects are built from variables; evaluate them with the defaults.
		ev := m.Evaluator("staging", nil)
		for _, blk := range doc.Nested("statement") {
			for _, c := range nestedBlocks(blk.Body, "condition") {
				variable, _ := ev.Eval(attrOrNull(c.Body, "variable"))
				if !known(variable) || variable.Type() != cty.String || variable.AsString() != "token.actions.githubusercontent.com:sub" {
					continue
				}
				vals, ok := stringsOf(evalBodyAttr(ev, c.Body, "values"))
				if !ok || len(vals) == 0 {
					r.add(c.DefRange(), "data.%s: the sub condition's values cannot be determined", key)
					continue
				}
				for _, v := range vals {
					if !strings.HasPrefix(v, "repo:") || strings.Contains(v, "*") || strings.Count(v, ":") < 3 {
						r.add(c.DefRange(), "data.%s: subject %q must be repo:<owner>/<name>:environment:<env> or :ref:refs/heads/<branch>, without wildcards", key, v)
					}
				}
			}
		}
	}
	if federated == 0 {
		r.add(hcl.Range{}, "no policy document trusts a Federated (GitHub OIDC) principal: the CI role must use OIDC, not long-lived keys")
	}
	return r.out
}
