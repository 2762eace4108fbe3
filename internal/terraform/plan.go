package terraform

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/hashicorp/terraform-exec/tfexec"
	tfjson "github.com/hashicorp/terraform-json"
)

// PlanMeta records what a saved plan was made for, next to the plan file, so apply
// can refuse a plan meant for another workspace, state or configuration.
type PlanMeta struct {
	Workspace string    `json:"workspace"`
	Backend   string    `json:"backend"`
	Dir       string    `json:"dir"`
	SHA256    string    `json:"sha256"`
	CreatedAt time.Time `json:"created_at"`
}

// MetaPath is the sidecar file of a saved plan.
func MetaPath(planPath string) string { return planPath + ".kmdeploy.json" }

// PlanResult is a saved plan and its review material.
type PlanResult struct {
	Path    string
	Summary *Summary
	// Refused are protected resources the plan destroys or replaces; applying it
	// will be refused unless they are allowed.
	Refused []Violation
	Allowed []Violation
	Plan    *tfjson.Plan
}

// Plan makes a saved plan at out (DefaultPlanPath when empty), creating the
// workspace on first use, and summarises it.
func (r *Runner) Plan(ctx context.Context, out string, guard Guard) (*PlanResult, error) {
	if out == "" {
		out = r.DefaultPlanPath()
	}
	out, err := filepath.Abs(out)
	if err != nil {
		return nil, err
	}
	if err := r.Prepare(ctx, true); err != nil {
		return nil, err
	}
	// A previous plan at the same path is obsolete the moment planning starts.
	os.Remove(out)
	os.Remove(MetaPath(out))
	r.logf("terraform plan (workspace %s) -> %s", r.opts.Workspace, out)
	err = r.withVarFile(func(varFile string) error {
		return r.streamed(func() error {
			_, err := r.tf.Plan(ctx, planOptions(out, varFile, r.lockTimeout())...)
			return err
		})
	})
	if err != nil {
		return nil, r.wrap("terraform plan", err)
	}
	meta, err := r.metaFor(out)
	if err != nil {
		return nil, err
	}
	if err := writeMeta(out, meta); err != nil {
		return nil, err
	}
	return r.review(ctx, out, guard)
}

// planOptions builds the plan flags: a saved plan, the private var file, and the
// lock timeout.
func planOptions(out, varFile, lockTimeout string) []tfexec.PlanOption {
	opts := []tfexec.PlanOption{tfexec.Out(out), tfexec.Lock(true), tfexec.LockTimeout(lockTimeout)}
	if varFile != "" {
		opts = append(opts, tfexec.VarFile(varFile))
	}
	return opts
}

// review reads a saved plan back as JSON, summarises it and runs the guard.
func (r *Runner) review(ctx context.Context, path string, guard Guard) (*PlanResult, error) {
	p, err := r.tf.ShowPlanFile(ctx, path)
	if err != nil {
		return nil, r.wrap("terraform show (saved plan)", err)
	}
	refused, allowed := guard.Check(p)
	return &PlanResult{Path: path, Summary: Summarize(p), Refused: refused, Allowed: allowed, Plan: p}, nil
}

func (r *Runner) metaFor(planPath string) (PlanMeta, error) {
	sum, err := fileSHA256(planPath)
	if err != nil {
		return PlanMeta{}, err
	}
	return PlanMeta{
		Workspace: r.opts.Workspace,
		Backend:   r.opts.Backend.Identity(),
		Dir:       r.opts.Dir,
		SHA256:    sum,
		CreatedAt: time.Now().UTC(),
	}, nil
}

func writeMeta(planPath string, m PlanMeta) error {
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(MetaPath(planPath), data, 0o600)
}

// ReadMeta reads a saved plan's sidecar.
func ReadMeta(planPath string) (PlanMeta, error) {
	var m PlanMeta
	data, err := os.ReadFile(MetaPath(planPath))
	if errors.Is(err, os.ErrNotExist) {
		if _, perr := os.Stat(planPath); perr != nil {
			return m, &NoPlanError{Path: planPath}
		}
		return m, fmt.Errorf("saved plan %s has no kmdeploy record (%s): make plans with `kmdeploy infra plan`", planPath, MetaPath(planPath))
	}
	if err != nil {
		return m, err
	}
	if err := json.Unmarshal(data, &m); err != nil {
		return m, fmt.Errorf("reading %s: %w", MetaPath(planPath), err)
	}
	return m, nil
}

// checkMeta compares a saved plan's record with the runner's target.
func checkMeta(planPath string, m PlanMeta, workspace, backend, dir, sum string) error {
	switch {
	case m.Workspace != workspace:
		return &PlanMismatchError{Path: planPath, Field: "workspace", Plan: m.Workspace, Target: workspace}
	case m.Backend != backend:
		return &PlanMismatchError{Path: planPath, Field: "state", Plan: m.Backend, Target: backend}
	case m.Dir != dir:
		return &PlanMismatchError{Path: planPath, Field: "configuration directory", Plan: m.Dir, Target: dir}
	case m.SHA256 != sum:
		return &PlanMismatchError{Path: planPath, Field: "plan file checksum", Plan: m.SHA256, Target: sum}
	}
	return nil
}

func fileSHA256(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:]), nil
}
