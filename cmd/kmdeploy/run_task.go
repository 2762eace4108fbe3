package main

import (
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/spf13/cobra"

	"github.com/knowmetools/km-release/internal/config"
	"github.com/knowmetools/km-release/internal/runtask"
)

func init() { register(newRunTaskCmd) }

func newRunTaskCmd() *cobra.Command {
	var opts runtask.Options
	cmd := &cobra.Command{
		Use:   "run-task --command CMD [--command ARG ...]",
		Short: "Run a one-off task on the image the service runs now, stream its logs, exit with its exit code",
		Example: `  kmdeploy run-task --command migrate
  kmdeploy run-task --command python --command manage.py --command showmigrations`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var flags flagProblems
			if len(opts.Command) == 0 {
				flags.add("--command", "not given; pass the container command, one argument per flag, e.g. --command migrate")
			}
			flags.positiveDuration("--timeout", opts.Timeout)
			env, err := loadDeployEnv(cmd.Context(), config.Requirement{Resources: runtask.Needs, Flags: flags})
			if err != nil {
				return err
			}
			if opts.Timeout == 0 {
				opts.Timeout = env.cfg.Timeouts.Task
			}
			r := &runtask.Runner{ECS: ecs.NewFromConfig(env.aws), Logs: cloudwatchlogs.NewFromConfig(env.aws), Resources: env.res, Out: cmd.OutOrStdout()}
			res, err := r.Run(cmd.Context(), opts)
			if err != nil {
				return err
			}
			if terr := res.Err(); terr != nil {
				code := exitNeverRan
				if c := res.ExitCode(); c != nil && *c != 0 {
					code = int(*c)
				}
				return &taskExitError{Code: code, Err: terr}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&opts.Command, "command", nil, "the container command, one argument per flag (required)")
	f.StringVar(&opts.TaskDefinition, "task-definition", "", "run this task definition (family:revision or ARN) instead of the service's")
	f.DurationVar(&opts.Timeout, "timeout", 0, "longest wait for the task to stop (default KM_TASK_TIMEOUT)")
	return cmd
}
