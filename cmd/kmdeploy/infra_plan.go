package main

import (
	"github.com/spf13/cobra"
)

func newInfraPlanCmd() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "plan",
		Short: "Make a saved plan for the environment and print its summary",
		Long: `Selects (or creates) the workspace KM_ENV, plans, saves the plan (default
<KM_TF_DIR>/.terraform/kmdeploy/<KM_ENV>/plan.tfplan) with a record of the workspace and
state it is for, and prints one line per resource address. Protected resources the
plan would destroy or replace are flagged; apply will refuse them.`,
		Args: cobra.NoArgs,
		RunE: infraRunE(nil, func(cmd *cobra.Command, ir *infraRun, _ []string) error {
			res, err := ir.runner.Plan(ir.ctx, out, ir.cfg.Guard(nil))
			if err != nil {
				return err
			}
			ir.printPlan(cmd, res)
			return nil
		}),
	}
	cmd.Flags().StringVar(&out, "out", "", "where to save the plan (default: the workspace's plan path)")
	return cmd
}
