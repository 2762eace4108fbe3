package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/knowmetools/km-release/internal/rollout"
)

func init() { register(newRollbackCmd) }

func newRollbackCmd() *cobra.Command {
	var opts rollout.RollbackOptions
	cmd := &cobra.Command{
		Use:   "rollback",
		Short: "Stop the active deployment with rollback, or redeploy the previous task definition revision",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var flags flagProblems
			flags.positiveDuration("--timeout", opts.Timeout)
			d, env, err := newDeployer(cmd.Context(), cmd.OutOrStdout(), rollout.RollbackNeeds, flags)
			if err != nil {
				return err
			}
			if opts.Timeout == 0 {
				opts.Timeout = env.cfg.Timeouts.Rollout
			}
			res, err := d.Rollback(cmd.Context(), opts)
			if err == nil && !opts.DryRun && !opts.NoWait && res.TaskDefinition != "" {
				fmt.Fprintf(cmd.OutOrStdout(), "Rolled back: the service runs %s\n", res.TaskDefinition)
			}
			return err
		},
	}
	f := cmd.Flags()
	f.BoolVar(&opts.DryRun, "dry-run", false, "say what would be rolled back; change nothing")
	f.BoolVar(&opts.NoWait, "no-wait", false, "return once the rollback is started")
	f.DurationVar(&opts.Timeout, "timeout", 0, "longest wait (default KM_ROLLOUT_TIMEOUT)")
	return cmd
}
