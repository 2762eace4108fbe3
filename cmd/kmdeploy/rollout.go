package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/knowmetools/km-release/internal/ecstask"
	"github.com/knowmetools/km-release/internal/rollout"
)

func init() { register(newRolloutCmd) }

// exitDetached is the exit code of a wait interrupted by Ctrl-C (128+SIGINT): the
// deployment goes on in AWS.
const exitDetached = 130

// deployFields are the resources every deployment command needs.
var deployFields = []string{"Cluster", "Service", "ContainerName", "ContainerPort", "CodeDeployApp", "CodeDeployGroup", "MigrateFunction", "MigrationHookEvent"}

// newDeployer wires configuration, AWS clients and the needed resource names.
func newDeployer(ctx context.Context, out io.Writer, fields ...string) (*rollout.Deployer, *deployEnv, error) {
	de, err := loadDeployEnv(ctx, fields...)
	if err != nil {
		return nil, nil, err
	}
	return &rollout.Deployer{Clients: rollout.NewClients(de.aws), Resources: de.res, Out: out}, de, nil
}

// deployError maps rollout errors to exit codes: 2 for configuration, 130 for a
// detached wait, 1 otherwise.
func deployError(err error) error {
	if err == nil {
		return nil
	}
	var cerr *rollout.ConfigError
	var detached *rollout.DetachedError
	var inputErr *ecstask.InputError
	switch {
	case errors.As(err, &cerr), errors.As(err, &inputErr):
		return &ExitError{Code: 2, Err: err}
	case errors.As(err, &detached):
		return &ExitError{Code: exitDetached, Err: err}
	}
	return asConfigError(err)
}

func newRolloutCmd() *cobra.Command {
	var opts rollout.Options
	cmd := &cobra.Command{
		Use:   "rollout --image REGISTRY/REPOSITORY@sha256:DIGEST",
		Short: "Roll a new API image out blue/green through CodeDeploy and wait for the outcome",
		Long: `Registers a new revision of the task definition Terraform manages (output
task_definition_arn), with only the API container's image replaced, and deploys it through CodeDeploy (migration hook included).
Waits with live progress for the end (KM_ROLLOUT_TIMEOUT, or --timeout); on failure
prints the failed lifecycle event, stopped tasks with exit codes and their last log lines,
and whether CodeDeploy rolled back. Ctrl-C stops waiting but leaves the deployment running.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			d, env, err := newDeployer(cmd.Context(), cmd.OutOrStdout(), append(deployFields, "TaskDefinition")...)
			if err != nil {
				return err
			}
			if !cmd.Flags().Changed("timeout") {
				opts.Timeout = env.cfg.Timeouts.Rollout
			}
			res, err := d.Rollout(cmd.Context(), opts)
			if err == nil && !res.DryRun && !opts.NoWait {
				fmt.Fprintf(cmd.OutOrStdout(), "Deployment %s succeeded: the service runs %s\n", res.DeploymentID, res.TaskDefinition)
			}
			return deployError(err)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Image, "image", "", "the API image, pinned by digest (REGISTRY/REPOSITORY@sha256:...)")
	f.BoolVar(&opts.AllowTag, "allow-tag", false, "accept an image tag; it is resolved to a digest through the registry when possible")
	f.BoolVar(&opts.DryRun, "dry-run", false, "print the task definition diff and the AppSpec; change nothing")
	f.BoolVar(&opts.WaitForActive, "wait-for-active", false, "wait for a deployment already active for the group instead of refusing")
	f.BoolVar(&opts.NoWait, "no-wait", false, "return once the deployment is created (follow it with `kmdeploy wait ID`)")
	f.DurationVar(&opts.Timeout, "timeout", 0, "longest wait for the deployment's end (default KM_ROLLOUT_TIMEOUT); the deployment continues after it")
	_ = cmd.MarkFlagRequired("image")
	return cmd
}
