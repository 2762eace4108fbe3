package terraform

import (
	"context"
	"os"
	"path/filepath"
	"strings"

	"github.com/hashicorp/terraform-exec/tfexec"
)

// Apply applies exactly the saved plan at planPath (DefaultPlanPath when empty),
// after checking it was made for this workspace and state and that the guard
// allows it. Nothing changes when any check fails.
func (r *Runner) Apply(ctx context.Context, planPath string, guard Guard) (*PlanResult, error) {
	if planPath == "" {
		planPath = r.DefaultPlanPath()
	}
	planPath, err := filepath.Abs(planPath)
	if err != nil {
		return nil, err
	}
	meta, err := ReadMeta(planPath)
	if err != nil {
		return nil, err
	}
	sum, err := fileSHA256(planPath)
	if err != nil {
		return nil, &NoPlanError{Path: planPath}
	}
	if err := checkMeta(planPath, meta, r.opts.Workspace, r.opts.Backend.Identity(), r.opts.Dir, sum); err != nil {
		return nil, err
	}
	if err := r.Prepare(ctx, false); err != nil {
		return nil, err
	}
	res, err := r.review(ctx, planPath, guard)
	if err != nil {
		return nil, err
	}
	return r.applyReviewed(ctx, res)
}

// applyReviewed applies a saved plan whose review (summary and guard) is done.
func (r *Runner) applyReviewed(ctx context.Context, res *PlanResult) (*PlanResult, error) {
	planPath := res.Path
	for _, v := range res.Allowed {
		r.logf("GUARD OVERRIDE: %s will be %sd (%s), allowed by --allow-destroy", v.Address, v.Action, v.Reason)
	}
	if len(res.Refused) > 0 {
		return res, &GuardError{Violations: res.Refused, Runbook: Runbook}
	}
	r.logf("terraform apply %s (workspace %s)", planPath, r.opts.Workspace)
	if err := r.streamed(func() error { return r.tf.Apply(ctx, applyOptions(planPath, r.lockTimeout())...) }); err != nil {
		if isStale(err) {
			return res, &StalePlanError{Path: planPath, Err: err}
		}
		return res, r.wrap("terraform apply", err)
	}
	// An applied plan can never be applied again; remove it so nobody tries.
	os.Remove(planPath)
	os.Remove(MetaPath(planPath))
	return res, nil
}

// applyOptions: a saved plan carries its variables, so no var file is passed.
func applyOptions(planPath, lockTimeout string) []tfexec.ApplyOption {
	return []tfexec.ApplyOption{tfexec.DirOrPlan(planPath), tfexec.Lock(true), tfexec.LockTimeout(lockTimeout)}
}

func isStale(err error) bool {
	return err != nil && strings.Contains(err.Error(), "Saved plan is stale")
}

// AutoApply plans and, when there is anything to change, applies that plan: one
// step for pipelines. The guard runs between the two.
func (r *Runner) AutoApply(ctx context.Context, guard Guard) (*PlanResult, error) {
	res, err := r.Plan(ctx, "", guard)
	if err != nil {
		return nil, err
	}
	if res.Summary.Empty() && len(res.Summary.Drift) == 0 {
		r.logf("no changes: nothing to apply")
		os.Remove(res.Path)
		os.Remove(MetaPath(res.Path))
		return res, nil
	}
	// The plan was just made and reviewed by this runner: apply it without showing it
	// (a `terraform show -json`) a second time.
	return r.applyReviewed(ctx, res)
}
