package codedeploy_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
	cdtypes "github.com/aws/aws-sdk-go-v2/service/codedeploy/types"
	"github.com/aws/smithy-go"

	cdemu "github.com/knowmetools/km-release/testrig/awsemu/codedeploy"
)

func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// TestDeploymentSucceeds runs two blue/green deployments through the SDK's waiter: the
// first (AppSpecContent, YAML) moves traffic blue→green, the second (String revision,
// JSON) green→blue.
func TestDeploymentSucceeds(t *testing.T) {
	var installs []cdemu.InstallRequest
	var mu sync.Mutex
	h := newHarness(t, harnessOptions{install: func(_ context.Context, r cdemu.InstallRequest) error {
		mu.Lock()
		defer mu.Unlock()
		installs = append(installs, r)
		return nil
	}})
	f := newFixture(t, h, fixtureOptions{})
	ctx := context.Background()
	var seen []hookEvent
	calls := h.hookFunc(f.app+"-hook", func(ev hookEvent) cdtypes.LifecycleEventStatus {
		mu.Lock()
		seen = append(seen, ev)
		mu.Unlock()
		return cdtypes.LifecycleEventStatusSucceeded
	})

	id := f.deploy(t, appSpecYAML(f.taskDefV2, [2]string{"BeforeInstall", f.app + "-hook"}, [2]string{"AfterAllowTraffic", f.app + "-hook"}))
	if d := f.get(t, id); d.Status != cdtypes.DeploymentStatusCreated && d.Status != cdtypes.DeploymentStatusInProgress {
		t.Fatalf("new deployment status %s, want Created or InProgress", d.Status)
	}
	waiter := codedeploy.NewDeploymentSuccessfulWaiter(f.cd, func(o *codedeploy.DeploymentSuccessfulWaiterOptions) {
		o.MinDelay, o.MaxDelay = 20*time.Millisecond, 100*time.Millisecond
	})
	if err := waiter.Wait(ctx, &codedeploy.GetDeploymentInput{DeploymentId: &id}, 30*time.Second); err != nil {
		t.Fatalf("DeploymentSuccessful waiter: %v (error %+v)", err, f.get(t, id).ErrorInformation)
	}
	d := f.get(t, id)
	if d.CreateTime == nil || d.StartTime == nil || d.CompleteTime == nil || d.CompleteTime.Before(*d.StartTime) {
		t.Errorf("times: create %v start %v complete %v", d.CreateTime, d.StartTime, d.CompleteTime)
	}
	if d.Creator != cdtypes.DeploymentCreatorUser || d.DeploymentOverview.Succeeded != 1 || d.ComputePlatform != cdtypes.ComputePlatformEcs {
		t.Errorf("creator %s overview %+v platform %s", d.Creator, d.DeploymentOverview, d.ComputePlatform)
	}
	if d.Revision == nil || d.Revision.AppSpecContent == nil || !strings.Contains(*d.Revision.AppSpecContent.Content, f.taskDefV2) || aws.ToString(d.Revision.AppSpecContent.Sha256) == "" {
		t.Errorf("revision not echoed with content and sha256: %+v", d.Revision)
	}
	if calls.Load() != 2 || len(seen) != 2 || seen[0].DeploymentId != id || seen[0].LifecycleEventHookExecutionId == "" || seen[0].LifecycleEventHookExecutionId == seen[1].LifecycleEventHookExecutionId {
		t.Errorf("hook invocations %d: %+v", calls.Load(), seen)
	}
	if got := f.forwardsTo(t, f.prodListener); got != f.green {
		t.Errorf("production listener forwards to %s, want green %s", got, f.green)
	}
	if got := f.forwardsTo(t, f.testListener); got != f.green {
		t.Errorf("test listener forwards to %s, want green %s", got, f.green)
	}
	td, sets := f.serviceTaskDef(t)
	if td != f.taskDefV2 || len(sets) != 1 || *sets[0].Status != "PRIMARY" || *sets[0].TaskDefinition != f.taskDefV2 {
		t.Errorf("service runs %s with task sets %d, want %s primary", td, len(sets), f.taskDefV2)
	}
	if len(installs) != 1 || installs[0].TaskDefinition != f.taskDefV2 || installs[0].TargetGroupArn != f.green || installs[0].TaskSetArn == "" ||
		installs[0].ContainerName != "web" || installs[0].ContainerPort != 8000 || len(installs[0].Subnets) != 2 || installs[0].DesiredCount != 2 {
		t.Errorf("Install request %+v", installs)
	}

	// Targets with lifecycle events, in AWS's order.
	list, err := f.cd.ListDeploymentTargets(ctx, &codedeploy.ListDeploymentTargetsInput{DeploymentId: &id})
	if err != nil || len(list.TargetIds) != 1 || list.TargetIds[0] != f.cluster+":"+f.service {
		t.Fatalf("ListDeploymentTargets: %v %v", list, err)
	}
	tg := f.target(t, id)
	var names []string
	for _, e := range tg.LifecycleEvents {
		names = append(names, *e.LifecycleEventName)
		if e.Status != cdtypes.LifecycleEventStatusSucceeded || e.StartTime == nil || e.EndTime == nil {
			t.Errorf("event %s: status %s start %v end %v", *e.LifecycleEventName, e.Status, e.StartTime, e.EndTime)
		}
	}
	want := []string{"BeforeInstall", "Install", "AfterInstall", "AllowTestTraffic", "AfterAllowTestTraffic", "BeforeAllowTraffic", "AllowTraffic", "AfterAllowTraffic"}
	if !slices.Equal(names, want) {
		t.Errorf("lifecycle events %v, want %v", names, want)
	}
	if tg.Status != cdtypes.TargetStatusSucceeded || !strings.HasSuffix(*tg.TargetArn, "service/"+f.cluster+"/"+f.service) {
		t.Errorf("target status %s arn %s", tg.Status, *tg.TargetArn)
	}
	batch, err := f.cd.BatchGetDeploymentTargets(ctx, &codedeploy.BatchGetDeploymentTargetsInput{DeploymentId: &id, TargetIds: list.TargetIds})
	if err != nil || len(batch.DeploymentTargets) != 1 || batch.DeploymentTargets[0].DeploymentTargetType != cdtypes.DeploymentTargetTypeEcsTarget {
		t.Errorf("BatchGetDeploymentTargets: %+v %v", batch, err)
	}

	// Second deployment: the older String revision type with a JSON AppSpec, back to blue.
	content := appSpecJSON(f.taskDefV1, [2]string{"AfterAllowTestTraffic", f.app + "-hook"})
	out, err := f.cd.CreateDeployment(ctx, &codedeploy.CreateDeploymentInput{
		ApplicationName: &f.app, DeploymentGroupName: &f.group,
		Revision: &cdtypes.RevisionLocation{RevisionType: cdtypes.RevisionLocationTypeString, String_: &cdtypes.RawString{Content: &content}},
	})
	if err != nil {
		t.Fatalf("CreateDeployment with String revision: %v", err)
	}
	if err := waiter.Wait(ctx, &codedeploy.GetDeploymentInput{DeploymentId: out.DeploymentId}, 30*time.Second); err != nil {
		t.Fatalf("second deployment: %v (%+v)", err, f.get(t, *out.DeploymentId).ErrorInformation)
	}
	if got := f.forwardsTo(t, f.prodListener); got != f.blue {
		t.Errorf("after the second deployment production forwards to %s, want blue", got)
	}
	if td, sets := f.serviceTaskDef(t); td != f.taskDefV1 || len(sets) != 1 {
		t.Errorf("after the second deployment the service runs %s with %d task sets, want %s and 1", td, len(sets), f.taskDefV1)
	}
	d2 := f.get(t, *out.DeploymentId)
	if d2.PreviousRevision == nil || d2.PreviousRevision.AppSpecContent == nil {
		t.Errorf("second deployment's previousRevision: %+v", d2.PreviousRevision)
	}
	ls, err := f.cd.ListDeployments(ctx, &codedeploy.ListDeploymentsInput{
		ApplicationName: &f.app, DeploymentGroupName: &f.group, IncludeOnlyStatuses: []cdtypes.DeploymentStatus{cdtypes.DeploymentStatusSucceeded},
	})
	if err != nil || !slices.Equal(ls.Deployments, []string{*out.DeploymentId, id}) {
		t.Errorf("ListDeployments: %v %v", ls, err)
	}
	g, err := f.cd.GetDeploymentGroup(ctx, &codedeploy.GetDeploymentGroupInput{ApplicationName: &f.app, DeploymentGroupName: &f.group})
	if err != nil || aws.ToString(g.DeploymentGroupInfo.LastSuccessfulDeployment.DeploymentId) != *out.DeploymentId {
		t.Errorf("GetDeploymentGroup last successful: %+v %v", g, err)
	}
	rev, err := f.cd.GetApplicationRevision(ctx, &codedeploy.GetApplicationRevisionInput{ApplicationName: &f.app, Revision: d.Revision})
	if err != nil || !slices.Contains(rev.RevisionInfo.DeploymentGroups, f.group) {
		t.Errorf("GetApplicationRevision: %+v %v", rev, err)
	}
}

// TestHookFailureRollsBack: a hook reporting Failed after traffic moved fails the
// deployment; the group's auto rollback creates a rollback deployment that puts the
// listener and the service back.
func TestHookFailureRollsBack(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	f := newFixture(t, h, fixtureOptions{rollback: &cdtypes.AutoRollbackConfiguration{
		Enabled: true, Events: []cdtypes.AutoRollbackEvent{cdtypes.AutoRollbackEventDeploymentFailure},
	}})
	h.hookFunc(f.app+"-ok", succeed)
	h.hookFunc(f.app+"-bad", func(hookEvent) cdtypes.LifecycleEventStatus { return cdtypes.LifecycleEventStatusFailed })

	id := f.deploy(t, appSpecYAML(f.taskDefV2, [2]string{"BeforeInstall", f.app + "-ok"}, [2]string{"AfterAllowTraffic", f.app + "-bad"}))
	d := f.waitStatus(t, id, 30*time.Second, cdtypes.DeploymentStatusFailed, cdtypes.DeploymentStatusSucceeded)
	if d.Status != cdtypes.DeploymentStatusFailed {
		t.Fatalf("status %s, want Failed", d.Status)
	}
	if d.ErrorInformation == nil || d.ErrorInformation.Code != cdtypes.ErrorCodeHookExecutionFailure || !strings.Contains(*d.ErrorInformation.Message, "AfterAllowTraffic") {
		t.Errorf("errorInformation %+v, want HOOK_EXECUTION_FAILURE naming AfterAllowTraffic", d.ErrorInformation)
	}
	if d.RollbackInfo == nil || d.RollbackInfo.RollbackDeploymentId == nil {
		t.Fatalf("no rollback deployment: %+v", d.RollbackInfo)
	}
	tg := f.target(t, id)
	ev := eventStatuses(tg)
	if ev["AllowTraffic"] != cdtypes.LifecycleEventStatusSucceeded || ev["AfterAllowTraffic"] != cdtypes.LifecycleEventStatusFailed || tg.Status != cdtypes.TargetStatusFailed {
		t.Errorf("lifecycle events %v target %s", ev, tg.Status)
	}
	for _, e := range tg.LifecycleEvents {
		if *e.LifecycleEventName == "AfterAllowTraffic" && (e.Diagnostics == nil || e.Diagnostics.ErrorCode != cdtypes.LifecycleErrorCodeScriptFailed || aws.ToString(e.Diagnostics.ScriptName) != f.app+"-bad") {
			t.Errorf("AfterAllowTraffic diagnostics %+v", e.Diagnostics)
		}
	}
	rb := f.waitStatus(t, *d.RollbackInfo.RollbackDeploymentId, 30*time.Second, cdtypes.DeploymentStatusSucceeded, cdtypes.DeploymentStatusFailed)
	if rb.Status != cdtypes.DeploymentStatusSucceeded || rb.Creator != cdtypes.DeploymentCreatorCodeDeployRollback || aws.ToString(rb.RollbackInfo.RollbackTriggeringDeploymentId) != id {
		t.Errorf("rollback deployment: status %s creator %s rollbackInfo %+v error %+v", rb.Status, rb.Creator, rb.RollbackInfo, rb.ErrorInformation)
	}
	if got := f.forwardsTo(t, f.prodListener); got != f.blue {
		t.Errorf("after rollback production forwards to %s, want blue", got)
	}
	if got := f.forwardsTo(t, f.testListener); got != f.blue {
		t.Errorf("after rollback the test listener forwards to %s, want blue", got)
	}
	if td, sets := f.serviceTaskDef(t); td != f.taskDefV1 || len(sets) != 0 {
		t.Errorf("after rollback the service runs %s with %d task sets, want %s and none", td, len(sets), f.taskDefV1)
	}
}

// TestInjectedHookFailureBeforeTraffic: FailNextHook fails BeforeInstall; the listener
// never moves, and without auto rollback the deployment says where it stopped.
func TestInjectedHookFailureBeforeTraffic(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	f := newFixture(t, h, fixtureOptions{})
	calls := h.hookFunc(f.app+"-hook", succeed)
	h.cd.FailNextHook("BeforeInstall", "migrations failed: exit code 1")
	id := f.deploy(t, appSpecYAML(f.taskDefV2, [2]string{"BeforeInstall", f.app + "-hook"}))
	d := f.waitStatus(t, id, 30*time.Second, cdtypes.DeploymentStatusFailed, cdtypes.DeploymentStatusSucceeded)
	if d.Status != cdtypes.DeploymentStatusFailed || !strings.Contains(aws.ToString(d.ErrorInformation.Message), "BeforeInstall") ||
		!strings.Contains(aws.ToString(d.ErrorInformation.Message), "migrations failed") {
		t.Fatalf("status %s error %+v", d.Status, d.ErrorInformation)
	}
	if calls.Load() != 0 {
		t.Errorf("the hook was invoked %d times despite the injected failure", calls.Load())
	}
	if d.RollbackInfo != nil || len(d.DeploymentStatusMessages) == 0 || !strings.Contains(d.DeploymentStatusMessages[0], "still on target group "+f.blueName) {
		t.Errorf("rollbackInfo %+v status messages %q", d.RollbackInfo, d.DeploymentStatusMessages)
	}
	if got := f.forwardsTo(t, f.prodListener); got != f.blue {
		t.Errorf("production listener forwards to %s, want blue", got)
	}
	ev := eventStatuses(f.target(t, id))
	if ev["BeforeInstall"] != cdtypes.LifecycleEventStatusFailed || ev["Install"] != cdtypes.LifecycleEventStatusSkipped || ev["AfterAllowTraffic"] != cdtypes.LifecycleEventStatusSkipped {
		t.Errorf("lifecycle events %v", ev)
	}
	// The fault is used up: the next deployment succeeds.
	id2 := f.deploy(t, appSpecYAML(f.taskDefV2, [2]string{"BeforeInstall", f.app + "-hook"}))
	if d := f.waitStatus(t, id2, 30*time.Second, cdtypes.DeploymentStatusSucceeded, cdtypes.DeploymentStatusFailed); d.Status != cdtypes.DeploymentStatusSucceeded {
		t.Errorf("second deployment %s: %+v", d.Status, d.ErrorInformation)
	}
}

// TestHookTimeout: a hook that never reports fails the deployment after the hook
// timeout; a late report is rejected like AWS does.
func TestHookTimeout(t *testing.T) {
	h := newHarness(t, harnessOptions{hookTimeout: 300 * time.Millisecond})
	f := newFixture(t, h, fixtureOptions{})
	late := make(chan hookEvent, 1)
	h.hookFunc(f.app+"-silent", func(ev hookEvent) cdtypes.LifecycleEventStatus { late <- ev; return "" })
	id := f.deploy(t, appSpecYAML(f.taskDefV2, [2]string{"AfterInstall", f.app + "-silent"}))
	d := f.waitStatus(t, id, 30*time.Second, cdtypes.DeploymentStatusFailed, cdtypes.DeploymentStatusSucceeded)
	if d.Status != cdtypes.DeploymentStatusFailed || d.ErrorInformation.Code != cdtypes.ErrorCodeTimeout || !strings.Contains(*d.ErrorInformation.Message, "AfterInstall") {
		t.Fatalf("status %s error %+v, want Failed TIMEOUT naming AfterInstall", d.Status, d.ErrorInformation)
	}
	ev := <-late
	_, err := f.cd.PutLifecycleEventHookExecutionStatus(context.Background(), &codedeploy.PutLifecycleEventHookExecutionStatusInput{
		DeploymentId: &ev.DeploymentId, LifecycleEventHookExecutionId: &ev.LifecycleEventHookExecutionId, Status: cdtypes.LifecycleEventStatusSucceeded,
	})
	if apiCode(err) != "LifecycleEventAlreadyCompletedException" {
		t.Errorf("late report: %v, want LifecycleEventAlreadyCompletedException", err)
	}
	_, err = f.cd.PutLifecycleEventHookExecutionStatus(context.Background(), &codedeploy.PutLifecycleEventHookExecutionStatusInput{
		DeploymentId: &ev.DeploymentId, LifecycleEventHookExecutionId: aws.String("bogus"), Status: cdtypes.LifecycleEventStatusSucceeded,
	})
	if apiCode(err) != "InvalidLifecycleEventHookExecutionIdException" {
		t.Errorf("unknown execution id: %v, want InvalidLifecycleEventHookExecutionIdException", err)
	}

	// TimeoutNextHook does the same without a silent function.
	h.hookFunc(f.app+"-ok", succeed)
	h.cd.TimeoutNextHook("")
	id2 := f.deploy(t, appSpecYAML(f.taskDefV2, [2]string{"BeforeAllowTraffic", f.app + "-ok"}))
	if d := f.waitStatus(t, id2, 30*time.Second, cdtypes.DeploymentStatusFailed, cdtypes.DeploymentStatusSucceeded); d.ErrorInformation == nil || d.ErrorInformation.Code != cdtypes.ErrorCodeTimeout {
		t.Errorf("TimeoutNextHook: status %s error %+v", d.Status, d.ErrorInformation)
	}
}

// blockingHook never reports and signals each invocation.
func blockingHook(h *harness, name string) chan hookEvent {
	ch := make(chan hookEvent, 4)
	h.hookFunc(name, func(ev hookEvent) cdtypes.LifecycleEventStatus { ch <- ev; return "" })
	return ch
}

func TestStopDeployment(t *testing.T) {
	for _, rollback := range []bool{true, false} {
		t.Run(map[bool]string{true: "rollback", false: "no-rollback"}[rollback], func(t *testing.T) {
			h := newHarness(t, harnessOptions{})
			f := newFixture(t, h, fixtureOptions{})
			invoked := blockingHook(h, f.app+"-wait")
			id := f.deploy(t, appSpecYAML(f.taskDefV2, [2]string{"AfterAllowTraffic", f.app + "-wait"}))
			select {
			case <-invoked:
			case <-time.After(30 * time.Second):
				t.Fatalf("hook not invoked; deployment %+v", f.get(t, id))
			}
			if got := f.forwardsTo(t, f.prodListener); got != f.green {
				t.Fatalf("while in AfterAllowTraffic production forwards to %s, want green", got)
			}
			out, err := f.cd.StopDeployment(context.Background(), &codedeploy.StopDeploymentInput{DeploymentId: &id, AutoRollbackEnabled: &rollback})
			if err != nil || out.Status != cdtypes.StopStatusPending {
				t.Fatalf("StopDeployment: %+v %v", out, err)
			}
			d := f.waitStatus(t, id, 30*time.Second, cdtypes.DeploymentStatusStopped)
			if d.ErrorInformation == nil || d.ErrorInformation.Code != cdtypes.ErrorCodeManualStop {
				t.Errorf("errorInformation %+v, want MANUAL_STOP", d.ErrorInformation)
			}
			_, err = f.cd.StopDeployment(context.Background(), &codedeploy.StopDeploymentInput{DeploymentId: &id})
			if apiCode(err) != "DeploymentAlreadyCompletedException" {
				t.Errorf("second stop: %v", err)
			}
			if rollback {
				if d.RollbackInfo == nil {
					t.Fatal("no rollbackInfo after a stop with rollback")
				}
				f.waitStatus(t, *d.RollbackInfo.RollbackDeploymentId, 30*time.Second, cdtypes.DeploymentStatusSucceeded)
				if got := f.forwardsTo(t, f.prodListener); got != f.blue {
					t.Errorf("after stop with rollback production forwards to %s, want blue", got)
				}
				if td, _ := f.serviceTaskDef(t); td != f.taskDefV1 {
					t.Errorf("after stop with rollback the service runs %s", td)
				}
				return
			}
			if d.RollbackInfo != nil {
				t.Errorf("rollbackInfo %+v after a stop without rollback", d.RollbackInfo)
			}
			if got := f.forwardsTo(t, f.prodListener); got != f.green {
				t.Errorf("after stop without rollback production forwards to %s, want green (left where it stopped)", got)
			}
			if len(d.DeploymentStatusMessages) == 0 || !strings.Contains(d.DeploymentStatusMessages[0], f.greenName) {
				t.Errorf("status messages %q do not say where traffic is", d.DeploymentStatusMessages)
			}
		})
	}
}

// TestContinueDeployment: with actionOnTimeout STOP_DEPLOYMENT the deployment waits in
// Ready for ContinueDeployment(READY_WAIT), then in the termination wait for
// ContinueDeployment(TERMINATION_WAIT).
func TestContinueDeployment(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	f := newFixture(t, h, fixtureOptions{
		readyOption: &cdtypes.DeploymentReadyOption{ActionOnTimeout: cdtypes.DeploymentReadyActionStopDeployment, WaitTimeInMinutes: 0},
		terminate:   &cdtypes.BlueInstanceTerminationOption{Action: cdtypes.InstanceActionTerminate, TerminationWaitTimeInMinutes: 600},
	})
	ctx := context.Background()
	id := f.deploy(t, appSpecYAML(f.taskDefV2))
	d := f.waitStatus(t, id, 30*time.Second, cdtypes.DeploymentStatusReady)
	if d.DeploymentOverview.Ready != 1 {
		t.Errorf("overview %+v, want Ready 1", d.DeploymentOverview)
	}
	if got := f.forwardsTo(t, f.testListener); got != f.green {
		t.Errorf("in Ready the test listener forwards to %s, want green", got)
	}
	if got := f.forwardsTo(t, f.prodListener); got != f.blue {
		t.Errorf("in Ready production forwards to %s, want blue", got)
	}
	_, err := f.cd.ContinueDeployment(ctx, &codedeploy.ContinueDeploymentInput{DeploymentId: &id, DeploymentWaitType: cdtypes.DeploymentWaitTypeTerminationWait})
	if apiCode(err) != "InvalidDeploymentWaitTypeException" {
		t.Errorf("ContinueDeployment TERMINATION_WAIT while Ready: %v", err)
	}
	if _, err := f.cd.ContinueDeployment(ctx, &codedeploy.ContinueDeploymentInput{DeploymentId: &id, DeploymentWaitType: cdtypes.DeploymentWaitTypeReadyWait}); err != nil {
		t.Fatalf("ContinueDeployment READY_WAIT: %v", err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for d = f.get(t, id); !d.InstanceTerminationWaitTimeStarted; d = f.get(t, id) {
		if time.Now().After(deadline) || d.Status != cdtypes.DeploymentStatusInProgress {
			t.Fatalf("termination wait not reached: status %s %+v", d.Status, d.ErrorInformation)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got := f.forwardsTo(t, f.prodListener); got != f.green {
		t.Errorf("in the termination wait production forwards to %s, want green", got)
	}
	if _, err := f.cd.ContinueDeployment(ctx, &codedeploy.ContinueDeploymentInput{DeploymentId: &id, DeploymentWaitType: cdtypes.DeploymentWaitTypeTerminationWait}); err != nil {
		t.Fatalf("ContinueDeployment TERMINATION_WAIT: %v", err)
	}
	f.waitStatus(t, id, 30*time.Second, cdtypes.DeploymentStatusSucceeded)
	_, err = f.cd.ContinueDeployment(ctx, &codedeploy.ContinueDeploymentInput{DeploymentId: &id})
	if apiCode(err) != "DeploymentAlreadyCompletedException" {
		t.Errorf("ContinueDeployment after success: %v", err)
	}
}

func TestDeploymentLimitExceeded(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	f := newFixture(t, h, fixtureOptions{})
	blockingHook(h, f.app+"-wait")
	id := f.deploy(t, appSpecYAML(f.taskDefV2, [2]string{"BeforeInstall", f.app + "-wait"}))
	content := appSpecYAML(f.taskDefV2)
	_, err := f.cd.CreateDeployment(context.Background(), &codedeploy.CreateDeploymentInput{
		ApplicationName: &f.app, DeploymentGroupName: &f.group,
		Revision: &cdtypes.RevisionLocation{RevisionType: cdtypes.RevisionLocationTypeAppSpecContent, AppSpecContent: &cdtypes.AppSpecContent{Content: &content}},
	})
	var limit *cdtypes.DeploymentLimitExceededException
	if !errors.As(err, &limit) || !strings.Contains(limit.ErrorMessage(), "The Deployment Group '"+f.group+"' already has an active Deployment '"+id+"'") {
		t.Fatalf("second CreateDeployment: %v, want DeploymentLimitExceededException naming %s", err, id)
	}
	if _, err := f.cd.StopDeployment(context.Background(), &codedeploy.StopDeploymentInput{DeploymentId: &id}); err != nil {
		t.Fatal(err)
	}
	f.waitStatus(t, id, 30*time.Second, cdtypes.DeploymentStatusStopped)
	// Once stopped the group takes a new deployment.
	blockingHook(h, f.app+"-x")
	f.deploy(t, content)
}

func TestInvalidRevisions(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	f := newFixture(t, h, fixtureOptions{})
	ctx := context.Background()
	for name, content := range map[string]string{
		"not yaml":        "Resources: [\n  - : :",
		"no resources":    "version: 0.0\n",
		"no task def":     "Resources:\n  - TargetService:\n      Type: AWS::ECS::Service\n      Properties:\n        LoadBalancerInfo: {ContainerName: web, ContainerPort: 8000}\n",
		"bad hook event":  appSpecYAML(f.taskDefV2, [2]string{"ApplicationStart", "x"}),
		"wrong type":      strings.Replace(appSpecYAML(f.taskDefV2), "AWS::ECS::Service", "AWS::Lambda::Function", 1),
		"port not number": strings.Replace(appSpecYAML(f.taskDefV2), "ContainerPort: 8000", "ContainerPort: web", 1),
	} {
		_, err := f.cd.CreateDeployment(ctx, &codedeploy.CreateDeploymentInput{
			ApplicationName: &f.app, DeploymentGroupName: &f.group,
			Revision: &cdtypes.RevisionLocation{RevisionType: cdtypes.RevisionLocationTypeAppSpecContent, AppSpecContent: &cdtypes.AppSpecContent{Content: &content}},
		})
		if apiCode(err) != "InvalidRevisionException" {
			t.Errorf("%s: %v, want InvalidRevisionException", name, err)
		}
	}
	// A well-formed AppSpec naming an unknown task definition fails the deployment.
	id := f.deploy(t, appSpecYAML("arn:aws:ecs:us-east-1:123456789012:task-definition/missing:9"))
	d := f.waitStatus(t, id, 30*time.Second, cdtypes.DeploymentStatusFailed, cdtypes.DeploymentStatusSucceeded)
	if d.Status != cdtypes.DeploymentStatusFailed || d.ErrorInformation.Code != cdtypes.ErrorCodeEcsUpdateError || !strings.Contains(*d.ErrorInformation.Message, "missing:9") {
		t.Errorf("unknown task definition: %s %+v", d.Status, d.ErrorInformation)
	}
	// A container name the task definition lacks, likewise.
	id = f.deploy(t, strings.Replace(appSpecYAML(f.taskDefV2), "ContainerName: web", "ContainerName: nginx", 1))
	d = f.waitStatus(t, id, 30*time.Second, cdtypes.DeploymentStatusFailed, cdtypes.DeploymentStatusSucceeded)
	if d.Status != cdtypes.DeploymentStatusFailed || !strings.Contains(aws.ToString(d.ErrorInformation.Message), "nginx") {
		t.Errorf("unknown container: %s %+v", d.Status, d.ErrorInformation)
	}
	// A hook naming a function that does not exist fails the deployment.
	id = f.deploy(t, appSpecYAML(f.taskDefV2, [2]string{"BeforeInstall", f.app + "-nowhere"}))
	d = f.waitStatus(t, id, 30*time.Second, cdtypes.DeploymentStatusFailed, cdtypes.DeploymentStatusSucceeded)
	if d.Status != cdtypes.DeploymentStatusFailed || d.ErrorInformation.Code != cdtypes.ErrorCodeInvalidLambdaFunction {
		t.Errorf("missing hook function: %s %+v", d.Status, d.ErrorInformation)
	}
	if got := f.forwardsTo(t, f.prodListener); got != f.blue {
		t.Errorf("production forwards to %s after failed deployments, want blue", got)
	}
}
