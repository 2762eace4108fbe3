// Package runtask runs a one-off task of the API image on the service's network
// (kmdeploy run-task): by default on the task definition the service runs now, with
// its logs streamed, and ends with the task's own outcome.
package runtask

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/knowmetools/km-release/internal/config"
	"github.com/knowmetools/km-release/internal/ecstask"
	"github.com/knowmetools/km-release/internal/servicestatus"
)

// ECSAPI is the part of the ECS client a one-off task needs.
type ECSAPI interface {
	ecstask.API
	servicestatus.ECSAPI
}

// Needs are the names Run reads: the service only to find its task definition when
// none is given.
var Needs = config.Needs{
	Required: []config.Field{config.Cluster, config.ContainerName, config.TaskSubnets},
	Optional: []config.Field{config.TaskSecurityGroups, config.Service},
}

// Runner runs one-off tasks in one environment.
type Runner struct {
	ECS       ECSAPI
	Logs      ecstask.LogsAPI
	Resources *config.Resources
	// Out receives progress and the task's log lines; nil discards them.
	Out io.Writer
}

func (d *Runner) out() io.Writer {
	if d.Out == nil {
		return io.Discard
	}
	return d.Out
}

// Options describe a one-off task of the API image.
type Options struct {
	// Command replaces the API container's command (e.g. ["migrate"]).
	Command []string
	// TaskDefinition to run; default: the one the service runs now.
	TaskDefinition string
	// Timeout bounds the wait for STOPPED; 0 means the ecstask default (1 h).
	Timeout time.Duration
	// Poll is the first delay between task polls; 0 means the ecstask default.
	Poll time.Duration
}

// Run runs a one-off task on the service's network, streams its logs and returns how
// it ended. The returned Result's Err (and ExitCode) say whether it succeeded.
func (d *Runner) Run(ctx context.Context, opts Options) (*ecstask.Result, error) {
	if len(opts.Command) == 0 {
		return nil, errors.New("no command given: pass --command, e.g. --command migrate")
	}
	if err := d.Resources.MissingError(Needs); err != nil {
		return nil, err
	}
	tdName := opts.TaskDefinition
	if tdName == "" {
		var err error
		svc := servicestatus.Service{ECS: d.ECS, Resources: d.Resources}
		if tdName, err = svc.TaskDefinition(ctx); err != nil {
			return nil, err
		}
	}
	td, err := d.ECS.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(tdName)})
	if err != nil {
		return nil, fmt.Errorf("describe task definition %s: %w", tdName, err)
	}
	task, err := ecstask.Run(ctx, d.ECS, ecstask.RunInput{
		Cluster:        d.Resources.Cluster,
		TaskDefinition: aws.ToString(td.TaskDefinition.TaskDefinitionArn),
		ContainerName:  d.Resources.ContainerName,
		Command:        opts.Command,
		Subnets:        d.Resources.TaskSubnets,
		SecurityGroups: d.Resources.TaskSecurityGroups,
		StartedBy:      "kmdeploy-run-task",
	})
	if err != nil {
		return nil, err
	}
	arn := aws.ToString(task.TaskArn)
	fmt.Fprintf(d.out(), "Started task %s (%s) with command %q\n", ecstask.TaskID(arn), aws.ToString(td.TaskDefinition.TaskDefinitionArn), opts.Command)
	var follower *ecstask.LogFollower
	if loc, err := ecstask.Locate(td.TaskDefinition, d.Resources.ContainerName, arn); err == nil {
		follower = &ecstask.LogFollower{Logs: d.Logs, Location: loc}
		fmt.Fprintf(d.out(), "Logs: %s\n", loc)
	} else {
		fmt.Fprintf(d.out(), "Logs not streamed: %v\n", err)
	}
	stream := func(ctx context.Context) {
		if follower == nil {
			return
		}
		lines, err := follower.Next(ctx)
		for _, l := range lines {
			fmt.Fprintf(d.out(), "| %s\n", l)
		}
		if err != nil {
			fmt.Fprintf(d.out(), "(log streaming: %v)\n", err)
		}
	}
	lastStatus := ""
	res, err := ecstask.Wait(ctx, d.ECS, d.Resources.Cluster, arn, ecstask.WaitOptions{
		Poll:      opts.Poll,
		Timeout:   opts.Timeout,
		Container: d.Resources.ContainerName,
		Progress: func(s ecstask.Status) {
			if s.LastStatus != lastStatus {
				lastStatus = s.LastStatus
				fmt.Fprintln(d.out(), s.String())
			}
			stream(ctx)
		},
	})
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("stopped waiting; task %s keeps running in cluster %s (stop it with `aws ecs stop-task --cluster %s --task %s`): %w",
				ecstask.TaskID(arn), d.Resources.Cluster, d.Resources.Cluster, ecstask.TaskID(arn), err)
		}
		return nil, err
	}
	// The last lines may land after the final poll.
	stream(context.WithoutCancel(ctx))
	if terr := res.Err(); terr != nil {
		fmt.Fprintln(d.out(), terr)
	} else {
		fmt.Fprintf(d.out(), "Task %s exited 0\n", ecstask.TaskID(arn))
	}
	return res, nil
}
