package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/knowmetools/km-release/internal/rollout"
)

func init() { register(newWaitCmd) }

func newWaitCmd() *cobra.Command {
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "wait [DEPLOYMENT_ID]",
		Short: "Follow a deployment to its end (default: the active one of the group)",
		Long: `Reattaches to a deployment, e.g. after Ctrl-C during rollout, with the same progress,
diagnostics and exit status as rollout. Without an ID it follows the newest active
deployment of the environment's deployment group.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var flags flagProblems
			flags.positiveDuration("--timeout", timeout)
			d, env, err := newDeployer(cmd.Context(), cmd.OutOrStdout(), rollout.WaitNeeds, flags)
			if err != nil {
				return err
			}
			if timeout == 0 {
				timeout = env.cfg.Timeouts.Rollout
			}
			id := ""
			if len(args) == 1 {
				id = args[0]
			} else {
				if id, _, err = d.ActiveDeployment(cmd.Context()); err != nil {
					return err
				}
				if id == "" {
					return &rollout.ConfigError{Err: errors.New("no deployment is active for the deployment group: pass a deployment ID (kmdeploy status lists recent ones)")}
				}
			}
			res, err := d.Wait(cmd.Context(), id, timeout)
			if err == nil {
				fmt.Fprintf(cmd.OutOrStdout(), "Deployment %s %s\n", res.DeploymentID, res.Status)
			}
			return err
		},
	}
	cmd.Flags().DurationVar(&timeout, "timeout", 0, "longest wait (default KM_ROLLOUT_TIMEOUT); the deployment continues after it")
	return cmd
}
