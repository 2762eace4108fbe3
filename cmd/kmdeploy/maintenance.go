package main

import (
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/spf13/cobra"

	"github.com/knowmetools/km-release/internal/config"
	"github.com/knowmetools/km-release/internal/maintenance"
)

func init() { register(newMaintenanceCmd) }

func newMaintenanceCmd() *cobra.Command {
	return &cobra.Command{
		Use:       "maintenance on|off|status",
		Short:     "Stop everything that writes (API service, jobs schedule) and restore it exactly",
		Long:      "on scales the API service to zero and disables the background-jobs schedule, remembering both on the service's tags; off restores exactly what on found. Both are idempotent.",
		Args:      cobra.MatchAll(cobra.ExactArgs(1), cobra.OnlyValidArgs),
		ValidArgs: []string{"on", "off", "status"},
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			env, err := loadDeployEnv(ctx, config.Requirement{Resources: maintenance.Needs})
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			m := &maintenance.Manager{
				ECS:    ecs.NewFromConfig(env.aws),
				Events: eventbridge.NewFromConfig(env.aws),
				Logf:   func(f string, a ...any) { fmt.Fprintf(out, f+"\n", a...) },
			}
			target := maintenance.Target{Cluster: env.res.Cluster, Service: env.res.Service, JobsRule: env.res.JobsScheduleRule}
			var st *maintenance.State
			switch args[0] {
			case "on":
				st, err = m.On(ctx, target)
			case "off":
				st, err = m.Off(ctx, target)
			default: // "status": cobra accepts nothing else
				st, err = m.Status(ctx, target)
			}
			if err != nil {
				return err
			}
			mode := "off"
			if st.On {
				mode = fmt.Sprintf("on (off restores %d tasks)", st.Remembered)
			}
			fmt.Fprintf(out, "maintenance mode %s; %s runs %d tasks; jobs schedule %s\n", mode, target.Service, st.DesiredCount, st.RuleState)
			return nil
		},
	}
}
