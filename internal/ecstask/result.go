package ecstask

import (
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// Result is how a task ended (or stands, for a task that has not stopped yet).
type Result struct {
	TaskArn        string
	TaskDefinition string
	LastStatus     string
	StopCode       types.TaskStopCode
	StoppedReason  string
	// Container is the container whose exit code decides Err; empty means every container.
	Container  string
	Containers []ContainerResult
	StartedAt  *time.Time
	StoppedAt  *time.Time
}

// ContainerResult is one container's outcome. ExitCode is nil when the container never ran.
type ContainerResult struct {
	Name       string
	LastStatus string
	ExitCode   *int32
	Reason     string
}

// ResultOf summarises a described task; container names the container that decides
// success ("" for all of them).
func ResultOf(t types.Task, container string) *Result {
	r := &Result{
		TaskArn:        aws.ToString(t.TaskArn),
		TaskDefinition: aws.ToString(t.TaskDefinitionArn),
		LastStatus:     aws.ToString(t.LastStatus),
		StopCode:       t.StopCode,
		StoppedReason:  aws.ToString(t.StoppedReason),
		Container:      container,
		StartedAt:      t.StartedAt,
		StoppedAt:      t.StoppedAt,
	}
	for _, c := range t.Containers {
		r.Containers = append(r.Containers, ContainerResult{
			Name:       aws.ToString(c.Name),
			LastStatus: aws.ToString(c.LastStatus),
			ExitCode:   c.ExitCode,
			Reason:     aws.ToString(c.Reason),
		})
	}
	return r
}

// Stopped reports whether ECS has stopped the task.
func (r *Result) Stopped() bool { return r.LastStatus == string(types.DesiredStatusStopped) }

// ExitCode returns the deciding container's exit code: the named container's, or with
// no name the first failing container's (0 when all exited 0). Nil means it never ran.
func (r *Result) ExitCode() *int32 {
	var code *int32
	for i, c := range r.Containers {
		switch {
		case r.Container != "" && c.Name == r.Container:
			return c.ExitCode
		case r.Container == "" && (c.ExitCode == nil || *c.ExitCode != 0):
			return c.ExitCode
		case r.Container == "" && i == 0:
			code = c.ExitCode
		}
	}
	return code
}

// Err is nil when the task stopped and the deciding container(s) exited 0; otherwise a
// *TaskFailedError saying which container failed and why.
func (r *Result) Err() error {
	if !r.Stopped() {
		return &TaskFailedError{TaskArn: r.TaskArn, Container: r.Container, StopCode: r.StopCode,
			StoppedReason: fmt.Sprintf("task is still %s", r.LastStatus)}
	}
	found := false
	for _, c := range r.Containers {
		if r.Container != "" && c.Name != r.Container {
			continue
		}
		found = true
		if c.ExitCode == nil || *c.ExitCode != 0 {
			return &TaskFailedError{TaskArn: r.TaskArn, Container: c.Name, ExitCode: c.ExitCode,
				StopCode: r.StopCode, StoppedReason: r.StoppedReason, ContainerReason: c.Reason}
		}
	}
	if !found {
		reason := "the task has no containers"
		if r.Container != "" {
			reason = fmt.Sprintf("container %s is not part of the task", r.Container)
		}
		return &TaskFailedError{TaskArn: r.TaskArn, Container: r.Container, StopCode: r.StopCode,
			StoppedReason: r.StoppedReason, ContainerReason: reason}
	}
	return nil
}

// TaskFailedError is a task whose container exited non-zero or never ran.
type TaskFailedError struct {
	TaskArn         string
	Container       string
	ExitCode        *int32 // nil: the container never ran (see FailedToStart)
	StopCode        types.TaskStopCode
	StoppedReason   string
	ContainerReason string
}

// FailedToStart reports whether the container never produced an exit code.
func (e *TaskFailedError) FailedToStart() bool { return e.ExitCode == nil }

func (e *TaskFailedError) Error() string {
	var msg string
	if e.ExitCode != nil {
		msg = fmt.Sprintf("task %s: container %s exited with code %d", TaskID(e.TaskArn), e.Container, *e.ExitCode)
	} else {
		msg = fmt.Sprintf("task %s: container %s did not run", TaskID(e.TaskArn), e.Container)
	}
	if e.StopCode != "" {
		msg += fmt.Sprintf(" (stop code %s)", e.StopCode)
	}
	if e.StoppedReason != "" {
		msg += ": " + e.StoppedReason
	}
	if e.ContainerReason != "" {
		msg += "; container reason: " + e.ContainerReason
	}
	return msg
}
