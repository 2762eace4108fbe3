package hook_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cdtypes "github.com/aws/aws-sdk-go-v2/service/codedeploy/types"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/sethvargo/go-envconfig"

	"github.com/knowmetools/km-release/internal/appspec"
	"github.com/knowmetools/km-release/lambdas/migrate/hook"
	"github.com/knowmetools/km-release/testrig/ecstasktest"
)

// checkMigration asserts the deployment ran exactly one migration, on the new task
// definition, whose only override is the command, and whose container got the admin
// password from the task definition's secrets.
func checkMigration(t *testing.T, s *site, id string) ecstypes.Task {
	t.Helper()
	tasks := s.migrations(id)
	if len(tasks) != 1 {
		t.Fatalf("%d migration tasks for %s, want 1\n%s", len(tasks), id, s.log.String())
	}
	task := tasks[0]
	if aws.ToString(task.TaskDefinitionArn) != s.v2 || aws.ToString(task.Group) != "migrate:"+id {
		t.Errorf("migration ran %s in group %s, want %s in migrate:%s", aws.ToString(task.TaskDefinitionArn), aws.ToString(task.Group), s.v2, id)
	}
	ov := task.Overrides.ContainerOverrides
	if len(ov) != 1 || aws.ToString(ov[0].Name) != ecstasktest.Container || strings.Join(ov[0].Command, " ") != "migrate" {
		t.Errorf("overrides %+v: want only the command migrate", ov)
	}
	raw, _ := json.Marshal(task.Overrides)
	for _, secret := range []string{s.fx.SecretValue, s.fx.SecretName, "PASSWORD"} {
		if strings.Contains(string(raw), secret) {
			t.Errorf("RunTask overrides carry %q: %s", secret, raw)
		}
	}
	if strings.Contains(s.log.String(), s.fx.SecretValue) {
		t.Errorf("the hook logged the secret")
	}
	if env, ok := envs.Load(aws.ToString(task.TaskArn) + "/" + ecstasktest.Container); ok {
		if env.(map[string]string)[s.fx.SecretName] != s.fx.SecretValue {
			t.Errorf("the migration container did not get %s from the task definition's secrets", s.fx.SecretName)
		}
	} else if task.StopCode != ecstypes.TaskStopCodeTaskFailedToStart {
		t.Errorf("the migration task never ran")
	}
	return task
}

func TestHookGatesDeploymentOnMigration(t *testing.T) {
	s := newSite(t, siteOptions{})
	id := s.deploy(cdtypes.RevisionLocationTypeAppSpecContent, appspec.YAML)
	d := s.finish(id)
	if d.Status != cdtypes.DeploymentStatusSucceeded {
		t.Fatalf("deployment %s: %+v\n%s", d.Status, d.ErrorInformation, s.log.String())
	}
	task := checkMigration(t, s, id)
	if c := task.Containers[0].ExitCode; c == nil || *c != 0 {
		t.Errorf("migration exit code %v", c)
	}
	for _, want := range []string{`"msg":"migration task started"`, `"msg":"migration succeeded"`, `"status":"Succeeded"`, `"status":"STOPPED"`} {
		if !strings.Contains(s.log.String(), want) {
			t.Errorf("hook log lacks %s:\n%s", want, s.log.String())
		}
	}
}

func TestHookFailsDeploymentOnNonZeroExit(t *testing.T) {
	s := newSite(t, siteOptions{})
	s.emu.Faults().NextTaskExit(ecstasktest.Container, 1, "")
	id := s.deploy(cdtypes.RevisionLocationTypeAppSpecContent, appspec.YAML)
	if d := s.finish(id); d.Status != cdtypes.DeploymentStatusFailed {
		t.Fatalf("deployment %s with a failed migration, want Failed", d.Status)
	}
	checkMigration(t, s, id)
	log := s.log.String()
	for _, want := range []string{`"msg":"migration failed"`, `"exitCode":1`, "exited with code 1", `"stopCode":"EssentialContainerExited"`,
		`"msg":"migration log tail"`, "simulated container api started: migrate", `"status":"Failed"`} {
		if !strings.Contains(log, want) {
			t.Errorf("hook log lacks %s:\n%s", want, log)
		}
	}
}

func TestHookFailsWhenTheTaskNeverStarts(t *testing.T) {
	s := newSite(t, siteOptions{})
	s.emu.Faults().NextTaskFailsToStart("CannotPullContainerError: pull access denied for example/api")
	id := s.deploy(cdtypes.RevisionLocationTypeAppSpecContent, appspec.YAML)
	if d := s.finish(id); d.Status != cdtypes.DeploymentStatusFailed {
		t.Fatalf("deployment %s, want Failed", d.Status)
	}
	checkMigration(t, s, id)
	if log := s.log.String(); !strings.Contains(log, "did not run") || !strings.Contains(log, "CannotPullContainerError") {
		t.Errorf("hook log does not say the task never ran:\n%s", log)
	}
}

func TestHookReportsFailedBeforeItsDeadline(t *testing.T) {
	// A 3s function with a 1s margin: the report must come at about 2s, not at the
	// hook timeout, while the migration still runs.
	s := newSite(t, siteOptions{timeout: 3, env: map[string]string{"DEADLINE_MARGIN": "1s"}})
	s.emu.Faults().NextTaskRunsFor(20 * time.Second)
	start := time.Now()
	id := s.deploy(cdtypes.RevisionLocationTypeAppSpecContent, appspec.YAML)
	d := s.finish(id)
	if d.Status != cdtypes.DeploymentStatusFailed {
		t.Fatalf("deployment %s, want Failed", d.Status)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("deployment failed after %s: the hook did not report before its 3s deadline", took)
	}
	if log := s.log.String(); !strings.Contains(log, "still RUNNING when the hook's time ran out") || !strings.Contains(log, `"msg":"reporting hook status","deployment":"`+id) {
		t.Errorf("hook log:\n%s", log)
	}
	checkMigration(t, s, id)
}

func TestRetriedInvocationAdoptsTheFirstTask(t *testing.T) {
	s := newSite(t, siteOptions{record: true})
	id := s.deploy(cdtypes.RevisionLocationTypeAppSpecContent, appspec.YAML)
	ev := s.event(id)
	h := s.hook(nil)

	// The first invocation dies while the migration runs, before it can report.
	s.emu.Faults().NextTaskRunsFor(time.Second)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	time.AfterFunc(300*time.Millisecond, cancel)
	if _, err := h.Handle(ctx, ev); err == nil {
		t.Fatal("an invocation that could not report returned no error")
	}
	if n := len(s.migrations(id)); n != 1 {
		t.Fatalf("%d migration tasks after the first invocation", n)
	}

	out, err := h.Handle(t.Context(), ev)
	if err != nil {
		t.Fatal(err)
	}
	if out.Status != "Succeeded" {
		t.Fatalf("retry: %+v\n%s", out, s.log.String())
	}
	task := checkMigration(t, s, id)
	if out.TaskArn != aws.ToString(task.TaskArn) {
		t.Errorf("retry reported task %s, the first started %s", out.TaskArn, aws.ToString(task.TaskArn))
	}
	if !strings.Contains(s.log.String(), "adopting the migration task an earlier invocation started") {
		t.Errorf("no adoption log line:\n%s", s.log.String())
	}
	if d := s.finish(id); d.Status != cdtypes.DeploymentStatusSucceeded {
		t.Errorf("deployment %s", d.Status)
	}
}

func TestStringAndAppSpecContentRevisions(t *testing.T) {
	for _, c := range []struct {
		rt     cdtypes.RevisionLocationType
		format appspec.Format
	}{
		{cdtypes.RevisionLocationTypeString, appspec.YAML},
		{cdtypes.RevisionLocationTypeString, appspec.JSON},
		{cdtypes.RevisionLocationTypeAppSpecContent, appspec.JSON},
	} {
		t.Run(string(c.rt)+"-"+c.format.String(), func(t *testing.T) {
			s := newSite(t, siteOptions{record: true})
			id := s.deploy(c.rt, c.format)
			out, err := s.hook(nil).Handle(t.Context(), s.event(id))
			if err != nil || out.Status != "Succeeded" {
				t.Fatalf("%+v, %v\n%s", out, err, s.log.String())
			}
			checkMigration(t, s, id)
		})
	}
}

func TestConfigurationErrorFailsTheHook(t *testing.T) {
	s := newSite(t, siteOptions{env: map[string]string{"SUBNETS": " , ", "MIGRATE_COMMAND": " "}})
	if h := hook.NewHandler(t.Context(), envconfig.MapLookuper(map[string]string{}), s.emu.AWSConfig()); h == nil {
		t.Fatal("NewHandler with no configuration gave no handler (want one that reports Failed)")
	}
	id := s.deploy(cdtypes.RevisionLocationTypeAppSpecContent, appspec.YAML)
	if d := s.finish(id); d.Status != cdtypes.DeploymentStatusFailed {
		t.Fatalf("deployment %s, want Failed", d.Status)
	}
	log := s.log.String()
	for _, want := range []string{"Lambda configuration", "SUBNETS is empty", "MIGRATE_COMMAND is empty", `"status":"Failed"`} {
		if !strings.Contains(log, want) {
			t.Errorf("hook log lacks %q:\n%s", want, log)
		}
	}
	if n := len(s.migrations(id)); n != 0 {
		t.Errorf("%d migration tasks started with a broken configuration", n)
	}
}

func TestHandleRejectsForeignEvents(t *testing.T) {
	s := newSite(t, siteOptions{record: true})
	if _, err := s.hook(nil).Handle(t.Context(), hook.Event{DeploymentID: "d-1"}); err == nil || !strings.Contains(err.Error(), "LifecycleEventHookExecutionId") {
		t.Errorf("event without execution id: %v", err)
	}
	// A deployment that does not exist is reported Failed with the reason; the report
	// itself fails, which the invocation returns.
	out, err := s.hook(nil).Handle(t.Context(), hook.Event{DeploymentID: "d-NOPE", LifecycleEventHookExecutionID: "x"})
	if err == nil || out.Status != "Failed" || !strings.Contains(out.Reason, "d-NOPE") {
		t.Errorf("unknown deployment: %+v, %v", out, err)
	}
}
