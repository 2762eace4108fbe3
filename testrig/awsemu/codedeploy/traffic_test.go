package codedeploy_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
	cdtypes "github.com/aws/aws-sdk-go-v2/service/codedeploy/types"
)

// TestCanaryShiftsTrafficInSteps: a TimeBasedCanary configuration first sends the
// canary percentage to the replacement through a weighted forward, then everything.
// SlowStep stretches Install.
func TestCanaryShiftsTrafficInSteps(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	ctx := context.Background()
	cd := codedeploy.NewFromConfig(h.cfg)
	cfgName := "canary-" + time.Now().Format("150405.000000")
	_, err := cd.CreateDeploymentConfig(ctx, &codedeploy.CreateDeploymentConfigInput{
		DeploymentConfigName: &cfgName, ComputePlatform: cdtypes.ComputePlatformEcs,
		TrafficRoutingConfig: &cdtypes.TrafficRoutingConfig{
			Type:            cdtypes.TrafficRoutingTypeTimeBasedCanary,
			TimeBasedCanary: &cdtypes.TimeBasedCanary{CanaryPercentage: 20, CanaryInterval: 1},
		},
	})
	if err != nil {
		t.Fatalf("CreateDeploymentConfig: %v", err)
	}
	f := newFixture(t, h, fixtureOptions{config: cfgName})
	h.cd.SlowStep("Install", 300*time.Millisecond)
	t.Cleanup(func() { h.cd.SlowStep("Install", 0) })

	id := f.deploy(t, appSpecYAML(f.taskDefV2))
	deadline := time.Now().Add(30 * time.Second)
	for got := f.forwardsTo(t, f.prodListener); !strings.HasPrefix(got, "weighted"); got = f.forwardsTo(t, f.prodListener) {
		if time.Now().After(deadline) || got == f.green {
			t.Fatalf("production listener went to %s without a weighted canary step", got)
		}
		time.Sleep(5 * time.Millisecond)
	}
	tg := f.target(t, id)
	var weights []float64
	for _, ts := range tg.TaskSetsInfo {
		weights = append(weights, ts.TrafficWeight)
	}
	if len(weights) != 2 || weights[0] != 80 || weights[1] != 20 {
		t.Errorf("task set traffic weights during the canary %v, want [80 20]", weights)
	}
	d := f.waitStatus(t, id, 30*time.Second, cdtypes.DeploymentStatusSucceeded, cdtypes.DeploymentStatusFailed)
	if d.Status != cdtypes.DeploymentStatusSucceeded || aws.ToString(d.DeploymentConfigName) != cfgName {
		t.Fatalf("status %s config %s error %+v", d.Status, aws.ToString(d.DeploymentConfigName), d.ErrorInformation)
	}
	if got := f.forwardsTo(t, f.prodListener); got != f.green {
		t.Errorf("after the canary production forwards to %s, want green", got)
	}
	for _, e := range f.target(t, id).LifecycleEvents {
		switch *e.LifecycleEventName {
		case "Install":
			if e.EndTime.Sub(*e.StartTime) < 300*time.Millisecond {
				t.Errorf("Install took %s despite SlowStep 300ms", e.EndTime.Sub(*e.StartTime))
			}
		case "AllowTraffic":
			if e.EndTime.Sub(*e.StartTime) < 900*time.Millisecond {
				t.Errorf("AllowTraffic took %s, want the one-minute canary interval (1s in the emulation)", e.EndTime.Sub(*e.StartTime))
			}
		}
	}
}

// TestApplicationsAndGroups covers the control plane around deployments.
func TestApplicationsAndGroups(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	f := newFixture(t, h, fixtureOptions{})
	ctx := context.Background()

	app, err := f.cd.GetApplication(ctx, &codedeploy.GetApplicationInput{ApplicationName: &f.app})
	if err != nil || app.Application.ComputePlatform != cdtypes.ComputePlatformEcs || app.Application.CreateTime == nil {
		t.Fatalf("GetApplication: %+v %v", app, err)
	}
	if _, err := f.cd.CreateApplication(ctx, &codedeploy.CreateApplicationInput{ApplicationName: &f.app, ComputePlatform: cdtypes.ComputePlatformEcs}); apiCode(err) != "ApplicationAlreadyExistsException" {
		t.Errorf("duplicate CreateApplication: %v", err)
	}
	if _, err := f.cd.GetApplication(ctx, &codedeploy.GetApplicationInput{ApplicationName: aws.String(f.app + "-none")}); apiCode(err) != "ApplicationDoesNotExistException" {
		t.Errorf("unknown application: %v", err)
	}
	g, err := f.cd.GetDeploymentGroup(ctx, &codedeploy.GetDeploymentGroupInput{ApplicationName: &f.app, DeploymentGroupName: &f.group})
	if err != nil {
		t.Fatalf("GetDeploymentGroup: %v", err)
	}
	gi := g.DeploymentGroupInfo
	if gi.ComputePlatform != cdtypes.ComputePlatformEcs || aws.ToString(gi.EcsServices[0].ServiceName) != f.service ||
		aws.ToString(gi.LoadBalancerInfo.TargetGroupPairInfoList[0].TargetGroups[1].Name) != f.greenName ||
		gi.DeploymentStyle.DeploymentType != cdtypes.DeploymentTypeBlueGreen || aws.ToString(gi.DeploymentConfigName) != "CodeDeployDefault.ECSAllAtOnce" {
		t.Errorf("deployment group echoed wrongly: %+v", gi)
	}
	list, err := f.cd.ListDeploymentGroups(ctx, &codedeploy.ListDeploymentGroupsInput{ApplicationName: &f.app})
	if err != nil || len(list.DeploymentGroups) != 1 || list.DeploymentGroups[0] != f.group {
		t.Errorf("ListDeploymentGroups: %+v %v", list, err)
	}
	_, err = f.cd.UpdateDeploymentGroup(ctx, &codedeploy.UpdateDeploymentGroupInput{
		ApplicationName: &f.app, CurrentDeploymentGroupName: &f.group,
		AutoRollbackConfiguration: &cdtypes.AutoRollbackConfiguration{Enabled: true, Events: []cdtypes.AutoRollbackEvent{cdtypes.AutoRollbackEventDeploymentFailure}},
	})
	if err != nil {
		t.Fatalf("UpdateDeploymentGroup: %v", err)
	}
	g, _ = f.cd.GetDeploymentGroup(ctx, &codedeploy.GetDeploymentGroupInput{ApplicationName: &f.app, DeploymentGroupName: &f.group})
	if !g.DeploymentGroupInfo.AutoRollbackConfiguration.Enabled || aws.ToString(g.DeploymentGroupInfo.EcsServices[0].ClusterName) != f.cluster {
		t.Errorf("after update: %+v", g.DeploymentGroupInfo)
	}
	// A second group for the same service is refused, as is a non blue/green style.
	_, err = f.cd.CreateDeploymentGroup(ctx, &codedeploy.CreateDeploymentGroupInput{
		ApplicationName: &f.app, DeploymentGroupName: aws.String("other"), ServiceRoleArn: aws.String("arn:aws:iam::123456789012:role/x"),
		DeploymentStyle: &cdtypes.DeploymentStyle{DeploymentType: cdtypes.DeploymentTypeInPlace, DeploymentOption: cdtypes.DeploymentOptionWithoutTrafficControl},
	})
	if apiCode(err) != "InvalidDeploymentStyleException" {
		t.Errorf("in-place ECS group: %v", err)
	}
	for _, name := range []string{"CodeDeployDefault.ECSAllAtOnce", "CodeDeployDefault.ECSLinear10PercentEvery1Minutes", "CodeDeployDefault.ECSCanary10Percent5Minutes"} {
		c, err := f.cd.GetDeploymentConfig(ctx, &codedeploy.GetDeploymentConfigInput{DeploymentConfigName: aws.String(name)})
		if err != nil || c.DeploymentConfigInfo.ComputePlatform != cdtypes.ComputePlatformEcs || c.DeploymentConfigInfo.TrafficRoutingConfig == nil {
			t.Errorf("GetDeploymentConfig %s: %+v %v", name, c, err)
		}
	}
	if _, err := f.cd.GetDeploymentConfig(ctx, &codedeploy.GetDeploymentConfigInput{DeploymentConfigName: aws.String("nope")}); apiCode(err) != "DeploymentConfigDoesNotExistException" {
		t.Errorf("unknown config: %v", err)
	}
	if _, err := f.cd.GetDeployment(ctx, &codedeploy.GetDeploymentInput{DeploymentId: aws.String("d-NOTHERE00")}); apiCode(err) != "DeploymentDoesNotExistException" {
		t.Errorf("unknown deployment: %v", err)
	}
	if _, err := f.cd.DeleteDeploymentGroup(ctx, &codedeploy.DeleteDeploymentGroupInput{ApplicationName: &f.app, DeploymentGroupName: &f.group}); err != nil {
		t.Errorf("DeleteDeploymentGroup: %v", err)
	}
	if _, err := f.cd.GetDeploymentGroup(ctx, &codedeploy.GetDeploymentGroupInput{ApplicationName: &f.app, DeploymentGroupName: &f.group}); apiCode(err) != "DeploymentGroupDoesNotExistException" {
		t.Errorf("deleted group: %v", err)
	}
}

// BenchmarkBlueGreenDeployment measures one full blue/green deployment with one hook
// (BeforeInstall) through the emulation: CreateDeployment to Succeeded.
func BenchmarkBlueGreenDeployment(b *testing.B) {
	h := newHarness(b, harnessOptions{})
	f := newFixture(b, h, fixtureOptions{})
	h.hookFunc(f.app+"-hook", succeed)
	specs := []string{
		appSpecYAML(f.taskDefV2, [2]string{"BeforeInstall", f.app + "-hook"}),
		appSpecYAML(f.taskDefV1, [2]string{"BeforeInstall", f.app + "-hook"}),
	}
	i := 0
	for b.Loop() {
		id := f.deploy(b, specs[i%2])
		i++
		for {
			d := f.get(b, id)
			if d.Status == cdtypes.DeploymentStatusSucceeded {
				break
			}
			if d.Status == cdtypes.DeploymentStatusFailed || d.Status == cdtypes.DeploymentStatusStopped {
				b.Fatalf("deployment %s: %+v", d.Status, d.ErrorInformation)
			}
			time.Sleep(2 * time.Millisecond)
		}
	}
}

// TestReadyWaitTimeout: with actionOnTimeout STOP_DEPLOYMENT and no ContinueDeployment
// within waitTimeInMinutes, the deployment stops and the replacement is cleaned up.
func TestReadyWaitTimeout(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	f := newFixture(t, h, fixtureOptions{
		readyOption: &cdtypes.DeploymentReadyOption{ActionOnTimeout: cdtypes.DeploymentReadyActionStopDeployment, WaitTimeInMinutes: 1},
	})
	id := f.deploy(t, appSpecYAML(f.taskDefV2))
	f.waitStatus(t, id, 30*time.Second, cdtypes.DeploymentStatusReady)
	d := f.waitStatus(t, id, 30*time.Second, cdtypes.DeploymentStatusStopped, cdtypes.DeploymentStatusSucceeded)
	if d.Status != cdtypes.DeploymentStatusStopped || d.ErrorInformation.Code != cdtypes.ErrorCodeTimeout || d.RollbackInfo == nil {
		t.Fatalf("status %s error %+v rollback %+v, want Stopped TIMEOUT with rollback", d.Status, d.ErrorInformation, d.RollbackInfo)
	}
	f.waitStatus(t, *d.RollbackInfo.RollbackDeploymentId, 30*time.Second, cdtypes.DeploymentStatusSucceeded)
	if got := f.forwardsTo(t, f.testListener); got != f.blue {
		t.Errorf("after the ready timeout the test listener forwards to %s, want blue", got)
	}
	if got := f.forwardsTo(t, f.prodListener); got != f.blue {
		t.Errorf("after the ready timeout production forwards to %s, want blue", got)
	}
	if _, sets := f.serviceTaskDef(t); len(sets) != 0 {
		t.Errorf("replacement task set left behind: %d task sets", len(sets))
	}
}
