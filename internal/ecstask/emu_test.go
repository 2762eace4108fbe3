package ecstask_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/knowmetools/km-release/internal/ecstask"
	"github.com/knowmetools/km-release/testrig/awsemu/emutest"
	"github.com/knowmetools/km-release/testrig/ecstasktest"
)

func TestMain(m *testing.M) { emutest.Main(m) }

type env struct {
	fx   *ecstasktest.Fixture
	ecs  *ecs.Client
	logs *cloudwatchlogs.Client
}

func setup(t *testing.T) *env {
	emu := emutest.Start(t)
	cfg := emu.AWSConfig()
	return &env{fx: ecstasktest.New(t, cfg, emutest.UniqueName(t)), ecs: ecs.NewFromConfig(cfg), logs: cloudwatchlogs.NewFromConfig(cfg)}
}

func (e *env) input(startedBy string, cmd ...string) ecstask.RunInput {
	return ecstask.RunInput{Cluster: e.fx.Cluster, TaskDefinition: e.fx.TaskDefinition, ContainerName: ecstasktest.Container,
		Command: cmd, Subnets: e.fx.Subnets, SecurityGroups: e.fx.SecurityGroups, StartedBy: startedBy, Group: "test"}
}

var fast = ecstask.WaitOptions{Poll: 20 * time.Millisecond, MaxPoll: 50 * time.Millisecond, Container: ecstasktest.Container}

func TestRunWaitSucceedsAndTailsLog(t *testing.T) {
	e := setup(t)
	ctx := t.Context()
	task, err := ecstask.Run(ctx, e.ecs, e.input("t-ok", "migrate", "--noinput"))
	if err != nil {
		t.Fatal(err)
	}
	arn := aws.ToString(task.TaskArn)
	var seen []string
	o := fast
	o.Progress = func(s ecstask.Status) {
		if s.TaskArn != arn || s.Attempt < 1 {
			t.Errorf("progress %+v", s)
		}
		if len(seen) == 0 || seen[len(seen)-1] != s.LastStatus {
			seen = append(seen, s.LastStatus)
		}
	}
	res, err := ecstask.Wait(ctx, e.ecs, e.fx.Cluster, arn, o)
	if err != nil {
		t.Fatal(err)
	}
	if err := res.Err(); err != nil {
		t.Fatalf("task failed: %v", err)
	}
	if c := res.ExitCode(); c == nil || *c != 0 || res.TaskDefinition != e.fx.TaskDefinition || res.StoppedAt == nil {
		t.Errorf("result %+v", res)
	}
	if len(seen) < 2 || seen[len(seen)-1] != "STOPPED" {
		t.Errorf("progress statuses %v: want several ending in STOPPED", seen)
	}

	// The only override is the command; the secret stays a task definition reference.
	d, err := e.ecs.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(e.fx.Cluster), Tasks: []string{arn}})
	if err != nil {
		t.Fatal(err)
	}
	ov := d.Tasks[0].Overrides.ContainerOverrides
	if len(ov) != 1 || aws.ToString(ov[0].Name) != ecstasktest.Container || !slices.Equal(ov[0].Command, []string{"migrate", "--noinput"}) || len(ov[0].Environment) != 0 {
		t.Errorf("overrides %+v", ov)
	}

	td, err := e.ecs.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(e.fx.TaskDefinition)})
	if err != nil {
		t.Fatal(err)
	}
	loc, lines, err := ecstask.LogTail(ctx, e.logs, td.TaskDefinition, ecstasktest.Container, arn, 1)
	if err != nil {
		t.Fatal(err)
	}
	if loc.Group != e.fx.LogGroup || loc.Stream != "km/api/"+ecstask.TaskID(arn) {
		t.Errorf("location %+v", loc)
	}
	if len(lines) != 1 || !strings.Contains(lines[0], "exiting with code 0") {
		t.Errorf("last line %q", lines)
	}
	_, lines, err = ecstask.LogTail(ctx, e.logs, td.TaskDefinition, ecstasktest.Container, arn, 50)
	if err != nil || len(lines) < 2 || !strings.Contains(lines[0], "migrate --noinput") {
		t.Errorf("tail %q, %v", lines, err)
	}
}

func TestWaitReportsNonZeroExit(t *testing.T) {
	e := setup(t)
	emutest.Start(t).Faults().NextTaskExit(ecstasktest.Container, 3, "")
	task, err := ecstask.Run(t.Context(), e.ecs, e.input("t-fail", "migrate"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := ecstask.Wait(t.Context(), e.ecs, e.fx.Cluster, aws.ToString(task.TaskArn), fast)
	if err != nil {
		t.Fatal(err)
	}
	var tf *ecstask.TaskFailedError
	if err := res.Err(); !errors.As(err, &tf) || tf.FailedToStart() || *tf.ExitCode != 3 || !strings.Contains(err.Error(), "exited with code 3") {
		t.Fatalf("want exit 3, got %v", err)
	}
}

func TestWaitReportsFailureToStart(t *testing.T) {
	e := setup(t)
	emutest.Start(t).Faults().NextTaskFailsToStart("CannotPullContainerError: pull access denied")
	task, err := ecstask.Run(t.Context(), e.ecs, e.input("t-nostart"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := ecstask.Wait(t.Context(), e.ecs, e.fx.Cluster, aws.ToString(task.TaskArn), fast)
	if err != nil {
		t.Fatal(err)
	}
	var tf *ecstask.TaskFailedError
	if err := res.Err(); !errors.As(err, &tf) || !tf.FailedToStart() || !strings.Contains(err.Error(), "CannotPullContainerError") {
		t.Fatalf("want failed to start, got %v", err)
	}
}

func TestWaitTimesOutWithLastStatus(t *testing.T) {
	e := setup(t)
	emutest.Start(t).Faults().NextTaskRunsFor(3 * time.Second)
	task, err := ecstask.Run(t.Context(), e.ecs, e.input("t-slow"))
	if err != nil {
		t.Fatal(err)
	}
	// The task must be RUNNING when the short wait starts: on a loaded machine its
	// start alone can take longer than the timeout under test.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		out, err := e.ecs.DescribeTasks(t.Context(), &ecs.DescribeTasksInput{Cluster: aws.String(e.fx.Cluster), Tasks: []string{aws.ToString(task.TaskArn)}})
		if err == nil && len(out.Tasks) == 1 && aws.ToString(out.Tasks[0].LastStatus) == "RUNNING" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the task did not reach RUNNING in 10s: %v", err)
		}
	}
	o := fast
	o.Timeout = 400 * time.Millisecond
	start := time.Now()
	_, err = ecstask.Wait(t.Context(), e.ecs, e.fx.Cluster, aws.ToString(task.TaskArn), o)
	var te *ecstask.TimeoutError
	if !errors.As(err, &te) || te.LastStatus != "RUNNING" {
		t.Fatalf("want timeout while RUNNING, got %v", err)
	}
	if waited := time.Since(start); waited > 2*time.Second {
		t.Errorf("timeout of 400ms took %s", waited)
	}
	// A context deadline bounds the wait the same way.
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	if _, err := ecstask.Wait(ctx, e.ecs, e.fx.Cluster, aws.ToString(task.TaskArn), fast); !errors.As(err, &te) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("want deadline exceeded, got %v", err)
	}
}

func TestWaitUnknownTask(t *testing.T) {
	e := setup(t)
	_, err := ecstask.Wait(t.Context(), e.ecs, e.fx.Cluster, "arn:aws:ecs:us-east-1:123456789012:task/"+e.fx.Cluster+"/0000", fast)
	var nf *ecstask.NotFoundError
	if !errors.As(err, &nf) {
		t.Fatalf("want not found, got %v", err)
	}
}

func TestFindByStartedBy(t *testing.T) {
	e := setup(t)
	ctx := t.Context()
	first, err := ecstask.Run(ctx, e.ecs, e.input("d-1"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ecstask.Wait(ctx, e.ecs, e.fx.Cluster, aws.ToString(first.TaskArn), fast); err != nil {
		t.Fatal(err)
	}
	emutest.Start(t).Faults().NextTaskRunsFor(2 * time.Second)
	second, err := ecstask.Run(ctx, e.ecs, e.input("d-1"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ecstask.Run(ctx, e.ecs, e.input("other")); err != nil {
		t.Fatal(err)
	}
	found, err := ecstask.FindByStartedBy(ctx, e.ecs, e.fx.Cluster, "d-1")
	if err != nil {
		t.Fatal(err)
	}
	if len(found) != 2 || aws.ToString(found[0].TaskArn) != aws.ToString(second.TaskArn) || aws.ToString(found[1].TaskArn) != aws.ToString(first.TaskArn) {
		t.Fatalf("found %d tasks, want the running one then the stopped one", len(found))
	}
	if !ecstask.Active(found[0]) || ecstask.Active(found[1]) {
		t.Errorf("active: %v %v", ecstask.Active(found[0]), ecstask.Active(found[1]))
	}
	if none, err := ecstask.FindByStartedBy(ctx, e.ecs, e.fx.Cluster, "d-none"); err != nil || len(none) != 0 {
		t.Errorf("unknown startedBy: %d, %v", len(none), err)
	}
}

func TestRunRejectsUnknownTaskDefinition(t *testing.T) {
	e := setup(t)
	in := e.input("x")
	in.TaskDefinition = "does-not-exist:1"
	if _, err := ecstask.Run(t.Context(), e.ecs, in); err == nil || !strings.Contains(err.Error(), "does-not-exist") {
		t.Fatalf("want an error naming the task definition, got %v", err)
	}
}

func TestLogFollowerReadsEachLineOnce(t *testing.T) {
	e := setup(t)
	ctx := t.Context()
	task, err := ecstask.Run(ctx, e.ecs, e.input("t-follow", "migrate"))
	if err != nil {
		t.Fatal(err)
	}
	arn := aws.ToString(task.TaskArn)
	td, err := e.ecs.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(e.fx.TaskDefinition)})
	if err != nil {
		t.Fatal(err)
	}
	loc, err := ecstask.Locate(td.TaskDefinition, ecstasktest.Container, arn)
	if err != nil {
		t.Fatal(err)
	}
	f := &ecstask.LogFollower{Logs: e.logs, Location: loc}
	var all []string
	o := fast
	o.Progress = func(ecstask.Status) {
		lines, err := f.Next(ctx)
		if err != nil {
			t.Errorf("Next while running: %v", err)
		}
		all = append(all, lines...)
	}
	if _, err := ecstask.Wait(ctx, e.ecs, e.fx.Cluster, arn, o); err != nil {
		t.Fatal(err)
	}
	rest, err := f.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	all = append(all, rest...)
	if len(all) != 2 || !strings.Contains(all[0], "started: migrate") || !strings.Contains(all[1], "exiting with code 0") {
		t.Errorf("followed lines %q, want the two lines once each", all)
	}
	if more, err := f.Next(ctx); err != nil || len(more) != 0 {
		t.Errorf("after the end: %q, %v", more, err)
	}
}
