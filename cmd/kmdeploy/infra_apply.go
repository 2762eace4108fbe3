package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func newInfraApplyCmd() *cobra.Command {
	var (
		planPath     string
		autoPlan     bool
		allowDestroy []string
	)
	cmd := &cobra.Command{
		Use:   "apply",
		Short: "Apply exactly the saved plan (or --auto-plan: plan and apply in one go)",
		Long: `Applies the saved plan made by "kmdeploy infra plan" for this environment. It refuses
a plan made for another workspace or state, a plan that is stale (the state changed
since), and a plan that destroys or replaces a protected resource (exit code 4) unless
every such address is listed in --allow-destroy (logged).`,
		Args: cobra.NoArgs,
		RunE: infraRunE(func([]string) flagProblems {
			var flags flagProblems
			if autoPlan && planPath != "" {
				flags.add("--plan", "--auto-plan makes its own plan: drop --plan")
			}
			return flags
		}, func(cmd *cobra.Command, ir *infraRun, _ []string) error {
			guard := ir.cfg.Guard(allowDestroy)
			if len(allowDestroy) > 0 {
				fmt.Fprintf(cmd.ErrOrStderr(), "kmdeploy: --allow-destroy given for %v: the guard lets these be destroyed or replaced\n", allowDestroy)
			}
			if autoPlan {
				res, err := ir.runner.AutoApply(ir.ctx, guard)
				if res != nil {
					ir.printPlan(cmd, res)
				}
				return err
			}
			res, err := ir.runner.Apply(ir.ctx, planPath, guard)
			if res != nil && err != nil {
				ir.printPlan(cmd, res)
			}
			if err == nil {
				fmt.Fprintf(cmd.OutOrStdout(), "Applied %s to workspace %s.\n", res.Path, ir.cfg.Env)
			}
			return err
		}),
	}
	cmd.Flags().StringVar(&planPath, "plan", "", "saved plan to apply (default: the workspace's plan path)")
	cmd.Flags().BoolVar(&autoPlan, "auto-plan", false, "plan and apply in one go (pipelines); the guard still applies")
	cmd.Flags().StringSliceVar(&allowDestroy, "allow-destroy", nil, "protected addresses that may be destroyed or replaced (comma-separated)")
	return cmd
}
