package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/knowmetools/km-release/internal/config"
	"github.com/knowmetools/km-release/internal/terraform"
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

// newInfraRun checks the flags' problems, the configuration and the state backend in
// one round, then prepares the runner.
func newInfraRun(cmd *cobra.Command, flags flagProblems) (*infraRun, error) {
	cfg, err := config.LoadFor(cmd.Context(), config.OSEnv(), config.Requirement{Terraform: true, Flags: flags})
	if err != nil {
		return nil, err
	}
	opts, err := cfg.TerraformOptions()
	if err != nil {
		return nil, err
	}
	opts.Progress = cmd.ErrOrStderr()
	opts.Verbose = verbose
	r, err := terraform.New(opts)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(cmd.Context(), cfg.Timeouts.Terraform)
	return &infraRun{cfg: cfg, runner: r, ctx: ctx, cancel: cancel}, nil
}

// infraRunE is the RunE of an infra command: flags checks its command line (nil when
// there is nothing to check), do runs with the prepared runner; the runner is closed
// afterwards and do's error completed by result.
func infraRunE(flags func(args []string) flagProblems, do func(cmd *cobra.Command, ir *infraRun, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		var problems flagProblems
		if flags != nil {
			problems = flags(args)
		}
		ir, err := newInfraRun(cmd, problems)
		if err != nil {
			return err
		}
		defer ir.close()
		return ir.result(do(cmd, ir, args))
	}
}

func (ir *infraRun) close() {
	ir.cancel()
	ir.runner.Close()
}

// result says how long Terraform may take when it took too long; the runner has
// already redacted Terraform's errors, and exitCode maps guard and drift.
func (ir *infraRun) result(err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%w (KM_TF_TIMEOUT=%s; raise it if Terraform needs longer)", err, ir.cfg.Timeouts.Terraform)
	}
	return err
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
