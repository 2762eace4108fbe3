package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/knowmetools/km-release/internal/config"
	"github.com/knowmetools/km-release/internal/rollout"
)

func init() { register(newRolloutCmd) }

// newDeployer checks the command's flags and configuration in one round, then wires
// the AWS clients and the resource names the operation declares.
func newDeployer(ctx context.Context, out io.Writer, needs config.Needs, flags flagProblems) (*rollout.Deployer, *deployEnv, error) {
	de, err := loadDeployEnv(ctx, config.Requirement{Resources: needs, Flags: flags})
	if err != nil {
		return nil, nil, err
	}
	return &rollout.Deployer{Clients: rollout.NewClients(de.aws), Resources: de.res, Out: out}, de, nil
}

func newRolloutCmd() *cobra.Command {
	var opts rollout.Options
	cmd := &cobra.Command{
		Use:   "rollout --image REGISTRY/REPOSITORY@sha256:DIGEST",
		Short: "Roll a new API image out blue/green through CodeDeploy and wait for the outcome",
		Long: `Registers a new revision of the task definition Terraform manages (output
task_definition_arn), with only the API container's image replaced,
and deploys it through CodeDeploy (migration hook included).
Waits with live progress for the end (KM_ROLLOUT_TIMEOUT, or --timeout); on failure
prints the failed lifecycle event, stopped tasks with exit codes and their last log lines,
and whether CodeDeploy rolled back. Ctrl-C stops waiting but leaves the deployment running.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var flags flagProblems
			if strings.TrimSpace(opts.Image) == "" {
				flags.add("--image", "not given; pass the API image pinned by digest, REGISTRY/REPOSITORY@sha256:DIGEST")
			}
			flags.positiveDuration("--timeout", opts.Timeout)
			d, env, err := newDeployer(cmd.Context(), cmd.OutOrStdout(), rollout.RolloutNeeds, flags)
			if err != nil {
				return err
			}
			if opts.Timeout == 0 {
				opts.Timeout = env.cfg.Timeouts.Rollout
			}
			res, err := d.Rollout(cmd.Context(), opts)
			if err == nil && !res.DryRun && !opts.NoWait {
				fmt.Fprintf(cmd.OutOrStdout(), "Deployment %s succeeded: the service runs %s\n", res.DeploymentID, res.TaskDefinition)
			}
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Image, "image", "", "the API image, pinned by digest (REGISTRY/REPOSITORY@sha256:...)")
	f.BoolVar(&opts.AllowTag, "allow-tag", false, "accept an image tag; it is resolved to a digest through the registry when possible")
	f.BoolVar(&opts.DryRun, "dry-run", false, "print the task definition diff and the AppSpec; change nothing")
	f.BoolVar(&opts.WaitForActive, "wait-for-active", false, "wait for a deployment already active for the group instead of refusing")
	f.BoolVar(&opts.NoWait, "no-wait", false, "return once the deployment is created (follow it with `kmdeploy wait ID`)")
	f.DurationVar(&opts.Timeout, "timeout", 0, "longest wait for the deployment's end (default KM_ROLLOUT_TIMEOUT); the deployment continues after it")
	return cmd
}
