package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/knowmetools/km-release/internal/config"
	"github.com/knowmetools/km-release/internal/terraform"
)

// Exit codes of the infra commands besides 0, 1 and 2 (configuration).
const (
	exitDrift = 3 // infra drift: live infrastructure differs
	exitGuard = 4 // infra apply: refused by the destroy/replace guard
)

func init() { register(newInfraCmd) }

func newInfraCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "infra",
		Short: "Plan, apply, inspect and check the environment's infrastructure (Terraform workspace KM_ENV)",
	}
	cmd.AddCommand(newInfraPlanCmd(), newInfraApplyCmd(), newInfraOutputCmd(), newInfraDriftCmd(), newInfraForgetCmd(), newInfraAdoptCmd())
	return cmd
}

// infraRun is what every infra subcommand needs: configuration, a Terraform runner
// streaming progress to stderr, and a context bounded by KM_TF_TIMEOUT.
type infraRun struct {
	cfg    *config.Config
	runner *terraform.Runner
	ctx    context.Context
	cancel context.CancelFunc
}

func newInfraRun(cmd *cobra.Command) (*infraRun, error) {
	cfg, err := loadConfig(cmd.Context())
	if err != nil {
		return nil, err
	}
	opts, err := cfg.TerraformOptions()
	if err != nil {
		return nil, asConfigError(err)
	}
	opts.Progress = cmd.ErrOrStderr()
	r, err := terraform.New(opts)
	if err != nil {
		var nf *terraform.NotFoundError
		if errors.As(err, &nf) {
			return nil, &ExitError{Code: 2, Err: err}
		}
		return nil, err
	}
	ctx, cancel := context.WithTimeout(cmd.Context(), cfg.Timeouts.Terraform)
	return &infraRun{cfg: cfg, runner: r, ctx: ctx, cancel: cancel}, nil
}

func (ir *infraRun) close() {
	ir.cancel()
	ir.runner.Close()
}

// result maps runner errors to exit codes and redacts them.
func (ir *infraRun) result(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.DeadlineExceeded) {
		err = fmt.Errorf("%w (KM_TF_TIMEOUT=%s; raise it if Terraform needs longer)", err, ir.cfg.Timeouts.Terraform)
	}
	err = ir.cfg.Redactor().Error(err)
	var guard *terraform.GuardError
	var drift *terraform.DriftError
	switch {
	case errors.As(err, &guard):
		return &ExitError{Code: exitGuard, Err: err}
	case errors.As(err, &drift):
		return &ExitError{Code: exitDrift, Err: err}
	}
	return asConfigError(err)
}

// printPlan writes a plan's summary and guard findings to stdout, redacted.
func (ir *infraRun) printPlan(cmd *cobra.Command, res *terraform.PlanResult) {
	w := ir.cfg.Redactor().Writer(cmd.OutOrStdout())
	defer w.Close()
	fmt.Fprintf(w, "Workspace %s, saved plan %s\n", ir.cfg.Env, res.Path)
	res.Summary.Write(w)
	for _, v := range res.Refused {
		fmt.Fprintf(w, "GUARD: %s would be %sd (%s): apply will refuse it unless --allow-destroy=%s (runbook: %s)\n", v.Address, v.Action, v.Reason, v.Address, terraform.Runbook)
	}
	for _, v := range res.Allowed {
		fmt.Fprintf(w, "GUARD OVERRIDE: %s will be %sd (%s), allowed by --allow-destroy\n", v.Address, v.Action, v.Reason)
	}
}
