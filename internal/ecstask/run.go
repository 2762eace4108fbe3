package ecstask

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// RunInput describes a one-off Fargate task. The container's configuration, secrets
// included, comes from the task definition: the only override is the command.
type RunInput struct {
	Cluster        string
	TaskDefinition string // family, family:revision or ARN
	ContainerName  string // the container whose command is overridden
	Command        []string
	Subnets        []string
	SecurityGroups []string
	AssignPublicIP bool
	// StartedBy tags the task so FindByStartedBy can find it again (at most 128 characters).
	StartedBy string
	Group     string
	// ClientToken makes RunTask idempotent for retries of the same request (at most 64 characters).
	ClientToken string
}

// InputError says which RunInput fields are wrong.
type InputError struct{ Problems []string }

func (e *InputError) Error() string {
	return "invalid task run: " + strings.Join(e.Problems, "; ")
}

// Build checks the input and constructs the RunTask request, without calling AWS.
func (in RunInput) Build() (*ecs.RunTaskInput, error) {
	var p []string
	if in.Cluster == "" {
		p = append(p, "cluster is empty")
	}
	if in.TaskDefinition == "" {
		p = append(p, "task definition is empty")
	}
	if len(in.Command) > 0 && in.ContainerName == "" {
		p = append(p, "a command override needs the container name")
	}
	if len(in.Subnets) == 0 {
		p = append(p, "no subnets: awsvpc tasks need at least one")
	}
	if len(in.StartedBy) > 128 {
		p = append(p, fmt.Sprintf("startedBy %q is longer than 128 characters", in.StartedBy))
	}
	if len(in.ClientToken) > 64 {
		p = append(p, "client token is longer than 64 characters")
	}
	if len(p) > 0 {
		return nil, &InputError{Problems: p}
	}

	assign := types.AssignPublicIpDisabled
	if in.AssignPublicIP {
		assign = types.AssignPublicIpEnabled
	}
	out := &ecs.RunTaskInput{
		Cluster:        aws.String(in.Cluster),
		TaskDefinition: aws.String(in.TaskDefinition),
		Count:          aws.Int32(1),
		LaunchType:     types.LaunchTypeFargate,
		NetworkConfiguration: &types.NetworkConfiguration{AwsvpcConfiguration: &types.AwsVpcConfiguration{
			Subnets:        in.Subnets,
			SecurityGroups: in.SecurityGroups,
			AssignPublicIp: assign,
		}},
	}
	if len(in.Command) > 0 {
		out.Overrides = &types.TaskOverride{ContainerOverrides: []types.ContainerOverride{{
			Name:    aws.String(in.ContainerName),
			Command: in.Command,
		}}}
	}
	if in.StartedBy != "" {
		out.StartedBy = aws.String(in.StartedBy)
	}
	if in.Group != "" {
		out.Group = aws.String(in.Group)
	}
	if in.ClientToken != "" {
		out.ClientToken = aws.String(in.ClientToken)
	}
	return out, nil
}

// RunFailedError is a RunTask call ECS answered without starting a task (no capacity,
// missing task definition, ...).
type RunFailedError struct {
	TaskDefinition string
	Failures       []string
}

func (e *RunFailedError) Error() string {
	return fmt.Sprintf("ECS did not start a task of %s: %s", e.TaskDefinition, strings.Join(e.Failures, "; "))
}

// Run starts the task and returns it as ECS described it at launch.
func Run(ctx context.Context, client API, in RunInput) (*types.Task, error) {
	req, err := in.Build()
	if err != nil {
		return nil, err
	}
	out, err := client.RunTask(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("run task %s on cluster %s: %w", in.TaskDefinition, in.Cluster, err)
	}
	if len(out.Tasks) == 0 {
		fe := &RunFailedError{TaskDefinition: in.TaskDefinition}
		for _, f := range out.Failures {
			fe.Failures = append(fe.Failures, strings.TrimSpace(aws.ToString(f.Reason)+" "+aws.ToString(f.Detail)))
		}
		if len(fe.Failures) == 0 {
			fe.Failures = []string{"no task and no failure returned"}
		}
		return nil, fe
	}
	t := out.Tasks[0]
	if t.TaskArn == nil {
		return nil, errors.New("RunTask returned a task without an ARN")
	}
	return &t, nil
}
