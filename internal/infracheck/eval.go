package infracheck

import (
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"
)

// Evaluator evaluates expressions the way Terraform would at plan time for one
// workspace, as far as that is possible without providers: variables take their
// defaults (or the given values), locals are computed, and every resource or data source
// attribute is unknown. Checks use it to see, for instance, that production gets
// deletion protection while a disposable environment can be destroyed.
type Evaluator struct {
	m   *Module
	ctx *hcl.EvalContext
}

// Evaluator returns an evaluator for the given workspace; vars override variable defaults.
func (m *Module) Evaluator(workspace string, vars map[string]cty.Value) *Evaluator {
	varVals := map[string]cty.Value{}
	for name, v := range m.Variables {
		varVals[name] = cty.DynamicVal
		if d := v.Attr("default"); d != nil {
			if val, diags := d.Expr.Value(nil); !diags.HasErrors() {
				varVals[name] = val
			}
		}
	}
	for name, val := range vars {
		varVals[name] = val
	}

	resources := map[string]map[string]cty.Value{}
	for _, b := range m.Resources {
		if resources[b.Labels[0]] == nil {
			resources[b.Labels[0]] = map[string]cty.Value{}
		}
		resources[b.Labels[0]][b.Labels[1]] = cty.DynamicVal
	}
	data := map[string]cty.Value{}
	dataByType := map[string]map[string]cty.Value{}
	for _, b := range m.Data {
		if dataByType[b.Labels[0]] == nil {
			dataByType[b.Labels[0]] = map[string]cty.Value{}
		}
		dataByType[b.Labels[0]][b.Labels[1]] = cty.DynamicVal
	}
	for typ, byName := range dataByType {
		data[typ] = cty.ObjectVal(byName)
	}

	vals := map[string]cty.Value{
		"var":       objectOrEmpty(varVals),
		"data":      objectOrEmpty(data),
		"path":      cty.ObjectVal(map[string]cty.Value{"module": cty.StringVal("."), "root": cty.StringVal("."), "cwd": cty.StringVal(".")}),
		"terraform": cty.ObjectVal(map[string]cty.Value{"workspace": cty.StringVal(workspace)}),
		"count":     cty.ObjectVal(map[string]cty.Value{"index": cty.UnknownVal(cty.Number)}),
		"each":      cty.ObjectVal(map[string]cty.Value{"key": cty.DynamicVal, "value": cty.DynamicVal}),
	}
	for typ, byName := range resources {
		vals[typ] = cty.ObjectVal(byName)
	}
	e := &Evaluator{m: m, ctx: &hcl.EvalContext{Variables: vals, Functions: functions()}}
	e.computeLocals()
	return e
}

func objectOrEmpty(m map[string]cty.Value) cty.Value {
	if len(m) == 0 {
		return cty.EmptyObjectVal
	}
	return cty.ObjectVal(m)
}

// computeLocals evaluates locals until nothing changes; a local that cannot be evaluated
// (it needs a function or value not available here) stays unknown.
func (e *Evaluator) computeLocals() {
	locals := map[string]cty.Value{}
	for name := range e.m.Locals {
		locals[name] = cty.DynamicVal
	}
	for pass := 0; pass <= len(locals); pass++ {
		e.ctx.Variables["local"] = objectOrEmpty(locals)
		changed := false
		for _, name := range sortedKeys(e.m.Locals) {
			val, diags := e.m.Locals[name].Expr.Value(e.ctx)
			if diags.HasErrors() {
				val = cty.DynamicVal
			}
			if !val.RawEquals(locals[name]) {
				locals[name] = val
				changed = true
			}
		}
		if !changed {
			break
		}
	}
	e.ctx.Variables["local"] = objectOrEmpty(locals)
}

// Eval evaluates expr; an expression that cannot be evaluated yields an unknown value
// and the diagnostics.
func (e *Evaluator) Eval(expr hcl.Expression) (cty.Value, hcl.Diagnostics) {
	val, diags := expr.Value(e.ctx)
	if diags.HasErrors() {
		return cty.DynamicVal, diags
	}
	return val, nil
}

// Local returns the computed value of a local.
func (e *Evaluator) Local(name string) cty.Value {
	return e.ctx.Variables["local"].GetAttr(name)
}

// functions are the Terraform functions this configuration uses that go-cty provides;
// anything else evaluates to unknown.
func functions() map[string]function.Function {
	passThrough := function.New(&function.Spec{
		Params: []function.Parameter{{Name: "v", Type: cty.DynamicPseudoType, AllowUnknown: true, AllowNull: true, AllowDynamicType: true}},
		Type:   func(args []cty.Value) (cty.Type, error) { return args[0].Type(), nil },
		Impl:   func(args []cty.Value, _ cty.Type) (cty.Value, error) { return args[0], nil },
	})
	return map[string]function.Function{
		"coalesce":     stdlib.CoalesceFunc,
		"concat":       stdlib.ConcatFunc,
		"contains":     stdlib.ContainsFunc,
		"floor":        stdlib.FloorFunc,
		"format":       stdlib.FormatFunc,
		"join":         stdlib.JoinFunc,
		"jsonencode":   stdlib.JSONEncodeFunc,
		"keys":         stdlib.KeysFunc,
		"length":       stdlib.LengthFunc,
		"lower":        stdlib.LowerFunc,
		"max":          stdlib.MaxFunc,
		"merge":        stdlib.MergeFunc,
		"min":          stdlib.MinFunc,
		"nonsensitive": passThrough,
		"regex":        stdlib.RegexFunc,
		"replace":      stdlib.ReplaceFunc,
		"sensitive":    passThrough,
		"slice":        stdlib.SliceFunc,
		"sort":         stdlib.SortFunc,
		"split":        stdlib.SplitFunc,
		"substr":       stdlib.SubstrFunc,
		"tolist":       stdlib.MakeToFunc(cty.List(cty.DynamicPseudoType)),
		"tonumber":     stdlib.MakeToFunc(cty.Number),
		"toset":        stdlib.MakeToFunc(cty.Set(cty.DynamicPseudoType)),
		"tostring":     stdlib.MakeToFunc(cty.String),
		"upper":        stdlib.UpperFunc,
		"values":       stdlib.ValuesFunc,
		"trimprefix":   stdlib.TrimPrefixFunc,
		"startswith":   startsWith(),
	}
}

func startsWith() function.Function {
	return function.New(&function.Spec{
		Params: []function.Parameter{{Name: "s", Type: cty.String}, {Name: "prefix", Type: cty.String}},
		Type:   function.StaticReturnType(cty.Bool),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			return cty.BoolVal(strings.HasPrefix(args[0].AsString(), args[1].AsString())), nil
		},
	})
}
