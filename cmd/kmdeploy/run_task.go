package main

import (
	"github.com/spf13/cobra"

	"github.com/knowmetools/km-release/internal/rollout"
)

func init() { register(newRunTaskCmd) }

// exitTaskDidNotRun is run-task's exit code when the container never ran (no exit code),
// like `docker run` for a container that could not start.
const exitTaskDidNotRun = 125

func newRunTaskCmd() *cobra.Command {
	var opts rollout.RunTaskOptions
	cmd := &cobra.Command{
		Use:   "run-task --command CMD [--command ARG ...]",
		Short: "Run a one-off task on the image the service runs now, stream its logs, exit with its exit code",
		Example: `  kmdeploy run-task --command migrate
  kmdeploy run-task --command python --command manage.py --command showmigrations`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			d, env, err := newDeployer(cmd.Context(), cmd.OutOrStdout(), "Cluster", "Service", "ContainerName", "TaskSubnets", "TaskSecurityGroups")
			if err != nil {
				return err
			}
			if !cmd.Flags().Changed("timeout") {
				opts.Timeout = env.cfg.Timeouts.Task
			}
			res, err := d.RunTask(cmd.Context(), opts)
			if err != nil {
				return deployError(err)
			}
			if terr := res.Err(); terr != nil {
				code := exitTaskDidNotRun
				if c := res.ExitCode(); c != nil && *c != 0 {
					code = int(*c)
				}
				return &ExitError{Code: code, Err: terr}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&opts.Command, "command", nil, "the container command, one argument per flag (required)")
	f.StringVar(&opts.TaskDefinition, "task-definition", "", "run this task definition (family:revision or ARN) instead of the service's")
	f.DurationVar(&opts.Timeout, "timeout", 0, "longest wait for the task to stop (default KM_TASK_TIMEOUT)")
	_ = cmd.MarkFlagRequired("command")
	return cmd
}
