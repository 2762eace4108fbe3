package terraform

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"time"

	"github.com/hashicorp/terraform-exec/tfexec"
	tfjson "github.com/hashicorp/terraform-json"
)

// StateAddresses lists the resource addresses in the workspace's state.
func (r *Runner) StateAddresses(ctx context.Context) ([]string, error) {
	if err := r.Prepare(ctx, false); err != nil {
		return nil, err
	}
	st, err := r.tf.Show(ctx)
	if err != nil {
		return nil, r.wrap("terraform show", err)
	}
	var addrs []string
	if st.Values != nil {
		addrs = moduleAddresses(st.Values.RootModule, addrs)
	}
	slices.Sort(addrs)
	return addrs, nil
}

func moduleAddresses(m *tfjson.StateModule, addrs []string) []string {
	if m == nil {
		return addrs
	}
	for _, res := range m.Resources {
		addrs = append(addrs, res.Address)
	}
	for _, child := range m.ChildModules {
		addrs = moduleAddresses(child, addrs)
	}
	return addrs
}

// Forget removes a resource from the workspace's state without destroying it (the
// runbooks' `terraform state rm` step): Terraform stops managing it and the real
// resource keeps running.
func (r *Runner) Forget(ctx context.Context, address string) error {
	addrs, err := r.StateAddresses(ctx)
	if err != nil {
		return err
	}
	if !slices.Contains(addrs, address) {
		return fmt.Errorf("%s is not in workspace %s's state (it has: %v)", address, r.opts.Workspace, addrs)
	}
	opts := []tfexec.StateRmCmdOption{tfexec.Lock(true), tfexec.LockTimeout(r.lockTimeout())}
	if r.opts.Backend.Kind == "local" {
		// Terraform's default backup path is relative to the state file and breaks
		// with a custom state dir; keep the previous state beside kmdeploy's files.
		backup := filepath.Join(r.stateDir, fmt.Sprintf("before-forget-%d.tfstate", time.Now().Unix()))
		opts = append(opts, tfexec.Backup(backup))
		r.logf("previous state kept in %s", backup)
	}
	r.logf("terraform state rm %s (workspace %s)", address, r.opts.Workspace)
	return r.wrap("terraform state rm", r.tf.StateRm(ctx, address, opts...))
}

// Adopt imports an existing resource into the workspace's state at address (the
// runbooks' `terraform import` step), so the next plan manages it instead of
// creating a new one.
func (r *Runner) Adopt(ctx context.Context, address, id string) error {
	if err := r.Prepare(ctx, false); err != nil {
		return err
	}
	r.logf("terraform import %s %s (workspace %s)", address, id, r.opts.Workspace)
	return r.withVarFile(func(varFile string) error {
		opts := []tfexec.ImportOption{tfexec.Lock(true), tfexec.LockTimeout(r.lockTimeout())}
		if varFile != "" {
			opts = append(opts, tfexec.VarFile(varFile))
		}
		return r.wrap("terraform import", r.tf.Import(ctx, address, id, opts...))
	})
}
