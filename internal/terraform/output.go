package terraform

import (
	"context"
	"encoding/json"
)

// Output is one Terraform output.
type Output struct {
	Sensitive bool
	Value     json.RawMessage
}

// Outputs reads the workspace's outputs. It never creates the workspace: reading
// outputs of an environment that was never applied is an error.
func (r *Runner) Outputs(ctx context.Context) (map[string]Output, error) {
	if err := r.Prepare(ctx, false); err != nil {
		return nil, err
	}
	outs, err := r.tf.Output(ctx)
	if err != nil {
		return nil, r.wrap("terraform output", err)
	}
	m := make(map[string]Output, len(outs))
	for k, o := range outs {
		m[k] = Output{Sensitive: o.Sensitive, Value: o.Value}
	}
	return m, nil
}
