package envfixture

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/knowmetools/km-release/internal/ecstask"
	"github.com/knowmetools/km-release/testrig/awsemu/codedeploy"
)

// ReplacementTasks is an Install step for the emulation (awsemu.Options.Install): it
// starts the replacement task set's tasks as emulated ECS tasks and fails the
// deployment when one does not start or exits non-zero, as ECS does with crashing
// tasks. awsCfg returns the emulation's configuration (known once it runs).
func ReplacementTasks(awsCfg func() (aws.Config, error)) func(context.Context, codedeploy.InstallRequest) error {
	return func(ctx context.Context, r codedeploy.InstallRequest) error {
		cfg, err := awsCfg()
		if err != nil {
			return err
		}
		client := ecs.NewFromConfig(cfg)
		count := max(r.DesiredCount, 1)
		for i := range count {
			task, err := ecstask.Run(ctx, client, ecstask.RunInput{
				Cluster: r.Cluster, TaskDefinition: r.TaskDefinition,
				Subnets: r.Subnets, SecurityGroups: r.SecurityGroups,
				StartedBy: "ecs-svc/" + r.DeploymentID,
			})
			if err != nil {
				return fmt.Errorf("start replacement task %d/%d: %w", i+1, count, err)
			}
			if err := waitStarted(ctx, client, r.Cluster, aws.ToString(task.TaskArn), r.ContainerName); err != nil {
				return err
			}
		}
		return nil
	}
}

// waitStarted waits until the task runs (or ran and exited 0: emulated tasks end at
// once) and reports a task that stopped otherwise.
func waitStarted(ctx context.Context, client *ecs.Client, cluster, arn, container string) error {
	for {
		out, err := client.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(cluster), Tasks: []string{arn}})
		if err != nil {
			return err
		}
		if len(out.Tasks) == 0 {
			// Without this, a task ECS does not know would be polled until ctx ends.
			reason := "no task returned"
			for _, f := range out.Failures {
				reason = aws.ToString(f.Reason)
			}
			return fmt.Errorf("replacement task %s in cluster %s: %s", arn, cluster, reason)
		}
		if len(out.Tasks) == 1 {
			t := out.Tasks[0]
			switch aws.ToString(t.LastStatus) {
			case string(ecstypes.DesiredStatusRunning):
				return nil
			case string(ecstypes.DesiredStatusStopped):
				return ecstask.ResultOf(t, container).Err()
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}
