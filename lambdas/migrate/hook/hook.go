// Package hook is the CodeDeploy lifecycle hook that runs the database migration of a
// deployment's new task definition as a one-off ECS task and lets the deployment go on
// only when the migration exited 0.
package hook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
	cdtypes "github.com/aws/aws-sdk-go-v2/service/codedeploy/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/sethvargo/go-envconfig"

	"github.com/knowmetools/km-release/internal/appspec"
	"github.com/knowmetools/km-release/internal/ecstask"
	"github.com/knowmetools/km-release/lambdas/internal/lambdaenv"
)

// Config is the hook's environment.
type Config struct {
	lambdaenv.Task
	MigrateCommand string `env:"MIGRATE_COMMAND,default=migrate"`
}

// Check validates the configuration beyond what envconfig checks.
func (c *Config) Check() error {
	err := c.Task.Check()
	if _, cerr := lambdaenv.Command("MIGRATE_COMMAND", c.MigrateCommand); cerr != nil {
		err = errors.Join(err, cerr)
	}
	return err
}

// Event is what CodeDeploy sends a lifecycle hook.
type Event struct {
	DeploymentID                  string `json:"DeploymentId"`
	LifecycleEventHookExecutionID string `json:"LifecycleEventHookExecutionId"`
}

// Outcome is the invocation's result (CodeDeploy ignores it; it helps people invoking
// the function by hand).
type Outcome struct {
	Status   string `json:"status"`
	TaskArn  string `json:"taskArn,omitempty"`
	ExitCode *int32 `json:"exitCode,omitempty"`
	Reason   string `json:"reason,omitempty"`
}

// CodeDeployAPI is the part of *codedeploy.Client the hook uses.
type CodeDeployAPI interface {
	GetDeployment(context.Context, *codedeploy.GetDeploymentInput, ...func(*codedeploy.Options)) (*codedeploy.GetDeploymentOutput, error)
	GetApplicationRevision(context.Context, *codedeploy.GetApplicationRevisionInput, ...func(*codedeploy.Options)) (*codedeploy.GetApplicationRevisionOutput, error)
	PutLifecycleEventHookExecutionStatus(context.Context, *codedeploy.PutLifecycleEventHookExecutionStatusInput, ...func(*codedeploy.Options)) (*codedeploy.PutLifecycleEventHookExecutionStatusOutput, error)
}

// ECSAPI is the part of *ecs.Client the hook uses.
type ECSAPI interface {
	ecstask.API
	DescribeTaskDefinition(context.Context, *ecs.DescribeTaskDefinitionInput, ...func(*ecs.Options)) (*ecs.DescribeTaskDefinitionOutput, error)
}

// Hook handles lifecycle events.
type Hook struct {
	cfg        Config
	cfgErr     error
	codeDeploy CodeDeployAPI
	ecs        ECSAPI
	logs       ecstask.LogsAPI
	log        *slog.Logger
}

// NewHandler reads the configuration and returns the Lambda handler. A configuration
// error does not fail here: the handler then reports Failed for every hook with the
// reason, so a deployment never waits an hour on a hook that cannot run.
func NewHandler(ctx context.Context, l envconfig.Lookuper, awsCfg aws.Config) lambda.Handler {
	h := New(ctx, l, awsCfg, lambdaenv.Logger(os.Stdout))
	return lambda.NewHandler(h.Handle)
}

// New builds the hook; log receives its JSON log lines.
func New(ctx context.Context, l envconfig.Lookuper, awsCfg aws.Config, log *slog.Logger) *Hook {
	h := &Hook{
		codeDeploy: codedeploy.NewFromConfig(awsCfg),
		ecs:        ecs.NewFromConfig(awsCfg),
		logs:       cloudwatchlogs.NewFromConfig(awsCfg),
		log:        log,
	}
	h.cfgErr = lambdaenv.Load(ctx, l, &h.cfg)
	return h
}

// Handle runs the migration for one hook invocation and reports its outcome to CodeDeploy.
func (h *Hook) Handle(ctx context.Context, ev Event) (Outcome, error) {
	if ev.DeploymentID == "" || ev.LifecycleEventHookExecutionID == "" {
		b, _ := json.Marshal(ev)
		return Outcome{}, fmt.Errorf("not a CodeDeploy lifecycle hook event (DeploymentId and LifecycleEventHookExecutionId are required): %s", b)
	}
	log := h.log.With("deployment", ev.DeploymentID)
	out := h.migrate(ctx, log, ev)
	log.Info("reporting hook status", "status", out.Status, "task", out.TaskArn, "reason", out.Reason)
	// The wait ended DeadlineMargin before the invocation deadline, so ctx still has time.
	_, err := h.codeDeploy.PutLifecycleEventHookExecutionStatus(ctx, &codedeploy.PutLifecycleEventHookExecutionStatusInput{
		DeploymentId:                  aws.String(ev.DeploymentID),
		LifecycleEventHookExecutionId: aws.String(ev.LifecycleEventHookExecutionID),
		Status:                        cdtypes.LifecycleEventStatus(out.Status),
	})
	if err != nil {
		log.Error("could not report the hook status", "error", lambdaenv.Describe(err))
		return out, fmt.Errorf("report %s for deployment %s: %w", out.Status, ev.DeploymentID, err)
	}
	return out, nil
}

func failed(reason string) Outcome {
	return Outcome{Status: string(cdtypes.LifecycleEventStatusFailed), Reason: reason}
}

// migrate decides the hook's status; every problem becomes Failed with a reason.
func (h *Hook) migrate(ctx context.Context, log *slog.Logger, ev Event) Outcome {
	if h.cfgErr != nil {
		log.Error("migration not run", "error", h.cfgErr.Error())
		return failed(h.cfgErr.Error())
	}
	taskDef, err := h.newTaskDefinition(ctx, ev.DeploymentID)
	if err != nil {
		log.Error("cannot find the deployment's task definition", "error", lambdaenv.Describe(err))
		return failed(err.Error())
	}
	log = log.With("taskDefinition", taskDef)

	waitCtx, cancel := h.cfg.WaitContext(ctx)
	defer cancel()
	taskArn, err := h.startOrAdopt(waitCtx, log, ev.DeploymentID, taskDef)
	if err != nil {
		log.Error("migration task did not start", "error", lambdaenv.Describe(err))
		return failed(err.Error())
	}
	res, err := ecstask.Wait(waitCtx, h.ecs, h.cfg.Cluster, taskArn, ecstask.WaitOptions{
		Poll: h.cfg.Poll, Container: h.cfg.ContainerName, Progress: lambdaenv.Progress(log),
	})
	if err != nil {
		var te *ecstask.TimeoutError
		reason := err.Error()
		if errors.As(err, &te) {
			// Stopping a migration half-way is worse than letting it finish: it keeps running,
			// and the deployment rolls back.
			reason = fmt.Sprintf("migration task %s was still %s when the hook's time ran out (it is left running; migrations longer than the Lambda timeout cannot gate a deployment)", taskArn, te.LastStatus)
		}
		log.Error("migration outcome unknown", "task", taskArn, "error", reason)
		return Outcome{Status: string(cdtypes.LifecycleEventStatusFailed), TaskArn: taskArn, Reason: reason}
	}
	out := Outcome{TaskArn: taskArn, ExitCode: res.ExitCode()}
	if err := res.Err(); err != nil {
		out.Status, out.Reason = string(cdtypes.LifecycleEventStatusFailed), err.Error()
		log.Error("migration failed", "task", taskArn, "exitCode", out.ExitCode, "stopCode", string(res.StopCode), "stoppedReason", res.StoppedReason, "error", lambdaenv.Describe(err))
		h.logTail(ctx, log, taskDef, taskArn)
		return out
	}
	out.Status = string(cdtypes.LifecycleEventStatusSucceeded)
	log.Info("migration succeeded", "task", taskArn, "exitCode", 0)
	return out
}

// newTaskDefinition reads the task definition of the deployment's AppSpec.
func (h *Hook) newTaskDefinition(ctx context.Context, deploymentID string) (string, error) {
	d, err := h.codeDeploy.GetDeployment(ctx, &codedeploy.GetDeploymentInput{DeploymentId: aws.String(deploymentID)})
	if err != nil {
		return "", fmt.Errorf("get deployment %s: %w", deploymentID, err)
	}
	info := d.DeploymentInfo
	if info == nil || info.Revision == nil {
		return "", fmt.Errorf("deployment %s has no revision", deploymentID)
	}
	spec, err := appspec.FromRevision(info.Revision)
	if errors.Is(err, appspec.ErrNoContent) {
		// GetDeployment may describe the revision without its content; the application
		// revision has it.
		r, gerr := h.codeDeploy.GetApplicationRevision(ctx, &codedeploy.GetApplicationRevisionInput{
			ApplicationName: info.ApplicationName, Revision: info.Revision,
		})
		if gerr != nil {
			return "", fmt.Errorf("get the revision of deployment %s: %w", deploymentID, gerr)
		}
		spec, err = appspec.FromRevision(r.Revision)
	}
	if err != nil {
		return "", fmt.Errorf("deployment %s: %w", deploymentID, err)
	}
	return spec.TaskDefinition(), nil
}

// startOrAdopt returns the migration task of this deployment, starting it unless an
// earlier invocation for the same deployment already did.
func (h *Hook) startOrAdopt(ctx context.Context, log *slog.Logger, deploymentID, taskDef string) (string, error) {
	existing, err := ecstask.FindByStartedBy(ctx, h.ecs, h.cfg.Cluster, deploymentID)
	if err != nil {
		return "", err
	}
	if len(existing) > 0 {
		arn := aws.ToString(existing[0].TaskArn)
		log.Info("adopting the migration task an earlier invocation started", "task", arn, "status", aws.ToString(existing[0].LastStatus))
		return arn, nil
	}
	cmd, _ := lambdaenv.Command("MIGRATE_COMMAND", h.cfg.MigrateCommand) // checked at load
	// The deployment ID is also the idempotency token: two concurrent deliveries of the
	// same event start one task.
	in := h.cfg.RunInput(taskDef, cmd, deploymentID, "migrate:"+deploymentID, deploymentID)
	t, err := ecstask.Run(ctx, h.ecs, in)
	if err != nil {
		return "", err
	}
	arn := aws.ToString(t.TaskArn)
	log.Info("migration task started", "task", arn, "command", cmd)
	return arn, nil
}

// logTail logs the failed task's last lines and where the rest is; failures to read
// them are logged, not fatal.
func (h *Hook) logTail(ctx context.Context, log *slog.Logger, taskDef, taskArn string) {
	if h.cfg.LogLines == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	td, err := h.ecs.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(taskDef)})
	if err != nil {
		log.Warn("cannot read the task definition for its logs", "error", lambdaenv.Describe(err))
		return
	}
	loc, lines, err := ecstask.LogTail(ctx, h.logs, td.TaskDefinition, h.cfg.ContainerName, taskArn, h.cfg.LogLines)
	if err != nil {
		log.Warn("cannot read the migration's log", "error", lambdaenv.Describe(err))
		return
	}
	log.Info("migration log tail", "logGroup", loc.Group, "logStream", loc.Stream, "lines", lines)
}
