package infracheck

import (
	"fmt"

	"github.com/zclconf/go-cty/cty"
)

// FunctionEnvironment returns the environment variables Terraform gives the Lambda
// function named by an output (e.g. "migrate_lambda_name"), evaluated for a workspace
// with default variables. Values known only after apply (resource attributes) are
// replaced by unknown, so callers can still check names and parse what is known.
func (m *Module) FunctionEnvironment(workspace, output, unknown string) (map[string]string, error) {
	o := m.Outputs[output]
	if o == nil || o.Attr("value") == nil {
		return nil, fmt.Errorf("output %q is not defined", output)
	}
	fns := m.ReferencedResources(o.Attr("value").Expr, "aws_lambda_function")
	if len(fns) != 1 {
		return nil, fmt.Errorf("output %q must name one aws_lambda_function, names %v", output, fns)
	}
	fn := m.Resources[fns[0]]
	envs := fn.Nested("environment")
	if len(envs) != 1 {
		return nil, fmt.Errorf("%s has no environment block", fn.Key())
	}
	vars := evalBodyAttr(m.Evaluator(workspace, nil), envs[0].Body, "variables")
	if !vars.IsKnown() || vars.IsNull() || !(vars.Type().IsObjectType() || vars.Type().IsMapType()) {
		return nil, fmt.Errorf("%s: environment variables cannot be determined statically", fn.Key())
	}
	out := map[string]string{}
	for it := vars.ElementIterator(); it.Next(); {
		k, v := it.Element()
		switch {
		case !v.IsKnown():
			out[k.AsString()] = unknown
		case v.IsNull() || v.Type() != cty.String:
			return nil, fmt.Errorf("%s: environment variable %s is not a string", fn.Key(), k.AsString())
		default:
			out[k.AsString()] = v.AsString()
		}
	}
	return out, nil
}
