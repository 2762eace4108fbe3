// Package jobrun is the scheduled Lambda that runs the API's background jobs as a one-off
// ECS task on the task definition the service serves production with now.
package jobrun

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/sethvargo/go-envconfig"

	"github.com/knowmetools/km-release/internal/ecstask"
	"github.com/knowmetools/km-release/lambdas/internal/lambdaenv"
)

// StartedBy marks the tasks this function starts, so it can tell whether a run is
// still going.
const StartedBy = "km-background-jobs"

// Config is the function's environment.
type Config struct {
	lambdaenv.Task
	Service     string `env:"SERVICE,required"`
	JobsCommand string `env:"JOBS_COMMAND,default=background-jobs"`
}

// Check validates the configuration beyond what envconfig checks.
func (c *Config) Check() error {
	err := c.Task.Check()
	if c.Service == "" {
		err = errors.Join(err, errors.New("SERVICE is empty"))
	}
	if _, cerr := lambdaenv.Command("JOBS_COMMAND", c.JobsCommand); cerr != nil {
		err = errors.Join(err, cerr)
	}
	return err
}

// Outcome is the invocation's result.
type Outcome struct {
	Skipped        bool   `json:"skipped,omitempty"`
	TaskArn        string `json:"taskArn,omitempty"`
	TaskDefinition string `json:"taskDefinition,omitempty"`
	ExitCode       *int32 `json:"exitCode,omitempty"`
	LogGroup       string `json:"logGroup,omitempty"`
	LogStream      string `json:"logStream,omitempty"`
}

// ECSAPI is the part of *ecs.Client the function uses.
type ECSAPI interface {
	ecstask.API
	DescribeServices(context.Context, *ecs.DescribeServicesInput, ...func(*ecs.Options)) (*ecs.DescribeServicesOutput, error)
	DescribeTaskDefinition(context.Context, *ecs.DescribeTaskDefinitionInput, ...func(*ecs.Options)) (*ecs.DescribeTaskDefinitionOutput, error)
}

// Jobs handles scheduled invocations.
type Jobs struct {
	cfg  Config
	ecs  ECSAPI
	logs ecstask.LogsAPI
	log  *slog.Logger
}

// NewHandler reads the configuration and returns the Lambda handler.
func NewHandler(ctx context.Context, l envconfig.Lookuper, awsCfg aws.Config) (lambda.Handler, error) {
	j, err := New(ctx, l, awsCfg, lambdaenv.Logger(os.Stdout))
	if err != nil {
		return nil, err
	}
	return lambda.NewHandler(j.Handle), nil
}

// New builds the function; log receives its JSON log lines.
func New(ctx context.Context, l envconfig.Lookuper, awsCfg aws.Config, log *slog.Logger) (*Jobs, error) {
	j := &Jobs{ecs: ecs.NewFromConfig(awsCfg), logs: cloudwatchlogs.NewFromConfig(awsCfg), log: log}
	if err := lambdaenv.Load(ctx, l, &j.cfg); err != nil {
		return nil, err
	}
	return j, nil
}

// Handle runs the background jobs once, unless a run is still going. A job that fails
// fails the invocation, so the schedule's retries and the error alarm see it.
func (j *Jobs) Handle(ctx context.Context, ev events.CloudWatchEvent) (Outcome, error) {
	log := j.log.With("cluster", j.cfg.Cluster, "service", j.cfg.Service)
	running, err := ecstask.FindByStartedBy(ctx, j.ecs, j.cfg.Cluster, StartedBy)
	if err != nil {
		return Outcome{}, err
	}
	for _, t := range running {
		if ecstask.Active(t) {
			log.Info("background jobs still running from an earlier run; skipping this run",
				"task", aws.ToString(t.TaskArn), "status", aws.ToString(t.LastStatus))
			return Outcome{Skipped: true, TaskArn: aws.ToString(t.TaskArn)}, nil
		}
	}

	svc, err := j.service(ctx)
	if err != nil {
		return Outcome{}, err
	}
	taskDef, from, err := ServingTaskDefinition(svc)
	if err != nil {
		return Outcome{}, err
	}
	log = log.With("taskDefinition", taskDef)
	log.Info("running background jobs", "from", from)

	waitCtx, cancel := j.cfg.WaitContext(ctx)
	defer cancel()
	cmd, _ := lambdaenv.Command("JOBS_COMMAND", j.cfg.JobsCommand) // checked at load
	// The event ID makes a duplicate delivery of the same schedule tick start no second task.
	t, err := ecstask.Run(waitCtx, j.ecs, j.cfg.RunInput(taskDef, cmd, StartedBy, "background-jobs", clientToken(ev.ID)))
	if err != nil {
		return Outcome{}, err
	}
	out := Outcome{TaskArn: aws.ToString(t.TaskArn), TaskDefinition: taskDef}
	log = log.With("task", out.TaskArn)
	if loc, err := j.locate(ctx, taskDef, out.TaskArn); err != nil {
		log.Warn("task logs cannot be located", "error", lambdaenv.Describe(err))
	} else {
		out.LogGroup, out.LogStream = loc.Group, loc.Stream
		log.Info("background jobs started", "logGroup", loc.Group, "logStream", loc.Stream)
	}

	res, err := ecstask.Wait(waitCtx, j.ecs, j.cfg.Cluster, out.TaskArn, ecstask.WaitOptions{
		Poll: j.cfg.Poll, Container: j.cfg.ContainerName, Progress: lambdaenv.Progress(log),
	})
	if err != nil {
		log.Error("background jobs outcome unknown; the task is left running and later runs skip while it runs", "error", lambdaenv.Describe(err))
		return out, fmt.Errorf("background jobs: %w", err)
	}
	out.ExitCode = res.ExitCode()
	if err := res.Err(); err != nil {
		log.Error("background jobs failed", "exitCode", out.ExitCode, "stopCode", string(res.StopCode), "stoppedReason", res.StoppedReason)
		return out, fmt.Errorf("background jobs: %w", err)
	}
	log.Info("background jobs finished", "exitCode", 0)
	return out, nil
}

func (j *Jobs) service(ctx context.Context) (*types.Service, error) {
	out, err := j.ecs.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(j.cfg.Cluster), Services: []string{j.cfg.Service}})
	if err != nil {
		return nil, fmt.Errorf("describe service %s: %w", j.cfg.Service, err)
	}
	if len(out.Services) == 0 {
		reason := "not found"
		for _, f := range out.Failures {
			reason = aws.ToString(f.Reason)
		}
		return nil, fmt.Errorf("service %s in cluster %s: %s (check SERVICE and CLUSTER)", j.cfg.Service, j.cfg.Cluster, reason)
	}
	return &out.Services[0], nil
}

func (j *Jobs) locate(ctx context.Context, taskDef, taskArn string) (ecstask.LogLocation, error) {
	td, err := j.ecs.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(taskDef)})
	if err != nil {
		return ecstask.LogLocation{}, err
	}
	return ecstask.Locate(td.TaskDefinition, j.cfg.ContainerName, taskArn)
}

func clientToken(eventID string) string {
	if len(eventID) > 64 {
		return ""
	}
	return eventID
}

// ServingTaskDefinition is the task definition serving production traffic now: for a
// blue/green (CODE_DEPLOY) service the PRIMARY task set, else the PRIMARY deployment,
// else the service's task definition. from says which one it was.
func ServingTaskDefinition(svc *types.Service) (taskDef, from string, err error) {
	for _, ts := range svc.TaskSets {
		if aws.ToString(ts.Status) == "PRIMARY" && aws.ToString(ts.TaskDefinition) != "" {
			return aws.ToString(ts.TaskDefinition), "primary task set " + aws.ToString(ts.Id), nil
		}
	}
	for _, d := range svc.Deployments {
		if aws.ToString(d.Status) == "PRIMARY" && aws.ToString(d.TaskDefinition) != "" {
			return aws.ToString(d.TaskDefinition), "primary deployment " + aws.ToString(d.Id), nil
		}
	}
	if td := aws.ToString(svc.TaskDefinition); td != "" {
		return td, "service", nil
	}
	return "", "", fmt.Errorf("service %s has no task definition in service, deployments or task sets", aws.ToString(svc.ServiceName))
}
