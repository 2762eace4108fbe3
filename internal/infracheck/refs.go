package infracheck

import (
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// Ref is what a traversal in an expression points at: "var.x", "local.x",
// "data.type.name" or "type.name" for a resource; Other holds everything else
// (count, each, path, terraform, self and for/dynamic iterators).
type Ref struct {
	Key   string
	Kind  string // "var", "local", "data", "resource" or "other"
	Range hcl.Range
}

func refOf(t hcl.Traversal) Ref {
	root := t.RootName()
	attr := func(i int) string {
		if len(t) <= i {
			return ""
		}
		if a, ok := t[i].(hcl.TraverseAttr); ok {
			return a.Name
		}
		return ""
	}
	r := Ref{Range: t.SourceRange(), Kind: "other", Key: root}
	switch {
	case root == "var" || root == "local":
		r.Kind, r.Key = root, root+"."+attr(1)
	case root == "data":
		r.Kind, r.Key = "data", "data."+attr(1)+"."+attr(2)
	case isResourceType(root):
		r.Kind, r.Key = "resource", root+"."+attr(1)
	}
	return r
}

// isResourceType tells resource references from iterator names: resource types are
// "<provider>_<type>" of the providers this configuration uses.
func isResourceType(name string) bool {
	for _, p := range []string{"aws_", "random_", "terraform_"} {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// Refs lists what an expression references directly.
func Refs(expr hcl.Expression) []Ref {
	var out []Ref
	for _, t := range expr.Variables() {
		out = append(out, refOf(t))
	}
	return out
}

// DeepRefs lists what an expression references, looking through locals (a local's own
// references replace it), so that indirection cannot hide a reference.
func (m *Module) DeepRefs(expr hcl.Expression) []Ref {
	seen := map[string]bool{}
	var out []Ref
	var walk func(hcl.Expression)
	walk = func(e hcl.Expression) {
		for _, r := range Refs(e) {
			out = append(out, r)
			if r.Kind != "local" || seen[r.Key] {
				continue
			}
			seen[r.Key] = true
			if l, ok := m.Locals[strings.TrimPrefix(r.Key, "local.")]; ok {
				walk(l.Expr)
			}
		}
	}
	walk(expr)
	return out
}

// RefersTo reports whether expr references key ("aws_s3_bucket.web", "var.x", ...),
// directly or through locals.
func (m *Module) RefersTo(expr hcl.Expression, key string) bool {
	for _, r := range m.DeepRefs(expr) {
		if r.Key == key {
			return true
		}
	}
	return false
}

// ReferencedResources lists the resources (or data sources, "data.…") of the given type
// that expr references, directly or through locals.
func (m *Module) ReferencedResources(expr hcl.Expression, typ string) []string {
	var out []string
	seen := map[string]bool{}
	for _, r := range m.DeepRefs(expr) {
		if (r.Kind == "resource" || r.Kind == "data") && strings.HasPrefix(strings.TrimPrefix(r.Key, "data."), typ+".") && !seen[r.Key] {
			seen[r.Key] = true
			out = append(out, r.Key)
		}
	}
	return out
}

// allExpressions calls fn for every attribute expression in body, nested blocks included.
func allExpressions(body *hclsyntax.Body, fn func(*hclsyntax.Attribute)) {
	for _, name := range sortedKeys(body.Attributes) {
		fn(body.Attributes[name])
	}
	for _, blk := range body.Blocks {
		allExpressions(blk.Body, fn)
	}
}
