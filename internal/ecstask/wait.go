package ecstask

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
)

// Status is the task's state at one poll, for progress reports.
type Status struct {
	TaskArn       string
	LastStatus    string
	DesiredStatus string
	Attempt       int
	Elapsed       time.Duration
}

func (s Status) String() string {
	return fmt.Sprintf("task %s is %s (desired %s) after %s", TaskID(s.TaskArn), s.LastStatus, s.DesiredStatus, s.Elapsed.Round(time.Second))
}

// WaitOptions tune Wait. Zero values take the defaults.
type WaitOptions struct {
	// Poll is the first delay between DescribeTasks calls (default 2s); delays grow
	// exponentially with jitter up to MaxPoll (default 15s).
	Poll    time.Duration
	MaxPoll time.Duration
	// Timeout bounds the wait; the context's deadline, when sooner, wins. Default 1h.
	Timeout time.Duration
	// Container decides the Result's Err ("" = every container).
	Container string
	// Progress is called after every poll.
	Progress func(Status)
}

const (
	defaultPoll    = 2 * time.Second
	defaultMaxPoll = 15 * time.Second
	defaultTimeout = time.Hour
)

// NotFoundError is a task ECS does not know (wrong cluster, or expired long ago).
type NotFoundError struct {
	Cluster, TaskArn, Reason string
}

func (e *NotFoundError) Error() string {
	return fmt.Sprintf("task %s not found in cluster %s: %s", e.TaskArn, e.Cluster, e.Reason)
}

// TimeoutError is a wait that ended before the task stopped.
type TimeoutError struct {
	TaskArn    string
	LastStatus string
	Waited     time.Duration
	Err        error
}

func (e *TimeoutError) Error() string {
	return fmt.Sprintf("task %s still %s after waiting %s: %v", TaskID(e.TaskArn), e.LastStatus, e.Waited.Round(100*time.Millisecond), e.Err)
}

func (e *TimeoutError) Unwrap() error { return e.Err }

// describeError marks a DescribeTasks failure, to tell it apart from the waiter's own
// "time is up" errors.
type describeError struct{ err error }

func (e *describeError) Error() string { return e.err.Error() }
func (e *describeError) Unwrap() error { return e.err }

// Wait polls the task until it is STOPPED, using the SDK's TasksStopped waiter, and
// returns its Result. The Result's Err says whether it succeeded; Wait's own error is
// for not knowing the outcome (*TimeoutError, *NotFoundError, API errors).
func Wait(ctx context.Context, client API, cluster, taskArn string, o WaitOptions) (*Result, error) {
	if o.Poll <= 0 {
		o.Poll = defaultPoll
	}
	if o.MaxPoll <= 0 {
		o.MaxPoll = defaultMaxPoll
	}
	if o.MaxPoll < o.Poll {
		o.MaxPoll = o.Poll
	}
	budget := o.Timeout
	if budget <= 0 {
		budget = defaultTimeout
	}
	if d, ok := ctx.Deadline(); ok && time.Until(d) < budget {
		budget = time.Until(d)
	}
	start := time.Now()
	last := Status{TaskArn: taskArn, LastStatus: "UNKNOWN"}
	timeout := func(err error) error {
		return &TimeoutError{TaskArn: taskArn, LastStatus: last.LastStatus, Waited: time.Since(start), Err: err}
	}
	if budget <= 0 {
		return nil, timeout(context.DeadlineExceeded)
	}

	waiter := ecs.NewTasksStoppedWaiter(client, func(wo *ecs.TasksStoppedWaiterOptions) {
		wo.MinDelay, wo.MaxDelay = o.Poll, o.MaxPoll
		stopped := wo.Retryable
		wo.Retryable = func(ctx context.Context, in *ecs.DescribeTasksInput, out *ecs.DescribeTasksOutput, err error) (bool, error) {
			if err != nil {
				if ctx.Err() != nil {
					return false, err
				}
				return false, &describeError{err}
			}
			if len(out.Tasks) == 0 {
				reason := "no task returned"
				for _, f := range out.Failures {
					reason = aws.ToString(f.Reason)
				}
				return false, &NotFoundError{Cluster: cluster, TaskArn: taskArn, Reason: reason}
			}
			t := out.Tasks[0]
			last.Attempt++
			last.LastStatus, last.DesiredStatus = aws.ToString(t.LastStatus), aws.ToString(t.DesiredStatus)
			last.Elapsed = time.Since(start)
			if o.Progress != nil {
				o.Progress(last)
			}
			return stopped(ctx, in, out, nil)
		}
	})
	out, err := waiter.WaitForOutput(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(cluster), Tasks: []string{taskArn}}, budget)
	if err != nil {
		var nf *NotFoundError
		var de *describeError
		switch {
		case errors.As(err, &nf):
			return nil, nf
		case errors.As(err, &de):
			return nil, fmt.Errorf("describe task %s: %w", TaskID(taskArn), de.err)
		case ctx.Err() != nil:
			return nil, timeout(ctx.Err())
		default:
			// The waiter's own budget ran out: the same thing as a deadline.
			return nil, timeout(context.DeadlineExceeded)
		}
	}
	return ResultOf(out.Tasks[0], o.Container), nil
}
