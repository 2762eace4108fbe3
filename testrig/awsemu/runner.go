package awsemu

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// TaskRunner decides what an ECS task started through RunTask does. The emulation
// owns the task's lifecycle (PROVISIONING → PENDING → RUNNING → STOPPED), its
// description and its logs; the runner only runs the containers.
//
// Run is called once the task is PENDING, with everything resolved. It calls
// task.Running() once its containers have started (the task becomes RUNNING), then
// blocks until they exit or ctx is cancelled (StopTask, emulator Close), and returns
// how each container ended. A runner that cannot start the task returns an outcome
// with FailedToStart set and does not call Running.
type TaskRunner interface {
	Run(ctx context.Context, task *TaskRun) TaskOutcome
}

// TaskRun is one task handed to a TaskRunner.
type TaskRun struct {
	TaskARN    string
	ClusterARN string
	StartedBy  string
	Group      string
	LaunchType string
	// TaskDefinition is the registered definition, as DescribeTaskDefinition returns it.
	TaskDefinition ecstypes.TaskDefinition
	// Overrides are the RunTask overrides as given (zero value when none).
	Overrides ecstypes.TaskOverride
	// Containers are the definition's containers with overrides applied.
	Containers []*ContainerRun

	running func()
}

// Running marks the task RUNNING (startedAt set). Calling it more than once is harmless.
func (t *TaskRun) Running() { t.running() }

// ContainerRun is one container of a task, ready to run.
type ContainerRun struct {
	Name  string
	Image string
	// EntryPoint and Command are the effective ones (the override's command wins).
	EntryPoint []string
	Command    []string
	// Environment is definition environment + override environment + secrets, with
	// secrets[].valueFrom already resolved from SSM Parameter Store / Secrets Manager.
	Environment map[string]string
	Essential   bool
	// Log receives the container's output. With an awslogs log configuration each line
	// becomes an event in CloudWatch Logs stream <prefix>/<container>/<task-id>; without
	// one it is discarded. Safe for concurrent use.
	Log io.Writer
	// Definition is the container definition as registered.
	Definition ecstypes.ContainerDefinition
}

// TaskOutcome is how a task ended.
type TaskOutcome struct {
	// FailedToStart, when non-empty, is the stoppedReason of a task that never ran
	// (stopCode TaskFailedToStart, no exit codes).
	FailedToStart string
	// Exits holds each container's exit, by container name.
	Exits map[string]ContainerExit
}

// ContainerExit is how one container ended.
type ContainerExit struct {
	ExitCode int
	Reason   string
}

// SimulatedRunner is the default TaskRunner: each container logs two lines, stays
// up for Duration (default: no time) and exits 0. Cancelled by StopTask, containers
// exit 143 like a process ended by SIGTERM.
type SimulatedRunner struct {
	Duration time.Duration
}

// Run implements TaskRunner.
func (s SimulatedRunner) Run(ctx context.Context, task *TaskRun) TaskOutcome {
	task.Running()
	for _, c := range task.Containers {
		fmt.Fprintf(c.Log, "simulated container %s started: %s\n", c.Name, strings.Join(append(append([]string{}, c.EntryPoint...), c.Command...), " "))
	}
	code := 0
	select {
	case <-ctx.Done():
		code = 143
	case <-time.After(s.Duration):
	}
	out := TaskOutcome{Exits: map[string]ContainerExit{}}
	for _, c := range task.Containers {
		fmt.Fprintf(c.Log, "simulated container %s exiting with code %d\n", c.Name, code)
		out.Exits[c.Name] = ContainerExit{ExitCode: code}
	}
	return out
}
