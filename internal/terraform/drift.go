package terraform

import (
	"context"
	"os"
)

// Drift plans against the live infrastructure (refreshing state) and reports
// resources changed outside Terraform and changes still pending. It returns a
// *DriftError when anything differs. It never creates the workspace.
func (r *Runner) Drift(ctx context.Context) (*Summary, error) {
	if err := r.Prepare(ctx, false); err != nil {
		return nil, err
	}
	// Prepare made the workspace's directory.
	f, err := os.CreateTemp(r.stateDir, "drift-*.tfplan")
	if err != nil {
		return nil, err
	}
	f.Close()
	defer os.Remove(f.Name())
	r.logf("terraform plan -detailed-exitcode (drift check, workspace %s)", r.opts.Workspace)
	var changed bool
	err = r.withVarFile(func(varFile string) error {
		return r.streamed(func() error {
			changed, err = r.tf.Plan(ctx, planOptions(f.Name(), varFile, r.lockTimeout())...)
			return err
		})
	})
	if err != nil {
		return nil, r.wrap("terraform plan (drift check)", err)
	}
	p, err := r.tf.ShowPlanFile(ctx, f.Name())
	if err != nil {
		return nil, r.wrap("terraform show (drift check)", err)
	}
	s := Summarize(p)
	if changed || len(s.Drift) > 0 || !s.Empty() {
		return s, &DriftError{Report: s}
	}
	return s, nil
}
