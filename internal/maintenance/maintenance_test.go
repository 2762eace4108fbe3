package maintenance_test

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/knowmetools/km-release/internal/maintenance"
	"github.com/knowmetools/km-release/testrig/awsemu/emutest"
)

func TestMain(m *testing.M) { emutest.Main(m) }

type env struct {
	ecs    *ecs.Client
	events *eventbridge.Client
	target maintenance.Target
}

func setup(t *testing.T, desired int32, rule ebtypes.RuleState) env {
	t.Helper()
	ctx := context.Background()
	emu := emutest.Start(t)
	e := env{ecs: ecs.NewFromConfig(emu.AWSConfig()), events: eventbridge.NewFromConfig(emu.AWSConfig())}
	name := emutest.UniqueName(t)
	e.target = maintenance.Target{Cluster: name, Service: name + "-api", JobsRule: name + "-jobs"}
	if _, err := e.ecs.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String(name)}); err != nil {
		t.Fatal(err)
	}
	td, err := e.ecs.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		Family: aws.String(name), NetworkMode: ecstypes.NetworkModeAwsvpc, RequiresCompatibilities: []ecstypes.Compatibility{ecstypes.CompatibilityFargate},
		Cpu: aws.String("256"), Memory: aws.String("512"),
		ContainerDefinitions: []ecstypes.ContainerDefinition{{Name: aws.String("api"), Image: aws.String("example/api:1"), Memory: aws.Int32(512), Essential: aws.Bool(true)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.ecs.CreateService(ctx, &ecs.CreateServiceInput{
		Cluster: aws.String(name), ServiceName: aws.String(e.target.Service), TaskDefinition: td.TaskDefinition.TaskDefinitionArn,
		DesiredCount: aws.Int32(desired), LaunchType: ecstypes.LaunchTypeFargate,
		DeploymentController: &ecstypes.DeploymentController{Type: ecstypes.DeploymentControllerTypeCodeDeploy},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.events.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String(e.target.JobsRule), ScheduleExpression: aws.String("rate(15 minutes)"), State: rule}); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e env) observe(t *testing.T) (int32, ebtypes.RuleState) {
	t.Helper()
	ctx := context.Background()
	svc, err := e.ecs.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(e.target.Cluster), Services: []string{e.target.Service}})
	if err != nil {
		t.Fatal(err)
	}
	rule, err := e.events.DescribeRule(ctx, &eventbridge.DescribeRuleInput{Name: aws.String(e.target.JobsRule)})
	if err != nil {
		t.Fatal(err)
	}
	return svc.Services[0].DesiredCount, rule.State
}

func TestOnOffRestoresTheExactPreviousState(t *testing.T) {
	ctx := context.Background()
	e := setup(t, 3, ebtypes.RuleStateEnabled)
	var log strings.Builder
	m := &maintenance.Manager{ECS: e.ecs, Events: e.events, Logf: func(f string, a ...any) { log.WriteString(f + "\n") }}

	for i := range 2 { // the second `on` must not forget the original count
		st, err := m.On(ctx, e.target)
		if err != nil {
			t.Fatal(err)
		}
		if !st.On || st.Remembered != 3 {
			t.Fatalf("on #%d: %+v, want on remembering 3", i+1, st)
		}
		if count, rule := e.observe(t); count != 0 || rule != ebtypes.RuleStateDisabled {
			t.Fatalf("on #%d: desired %d, rule %s; want 0 and DISABLED", i+1, count, rule)
		}
	}
	for i := range 2 {
		st, err := m.Off(ctx, e.target)
		if err != nil {
			t.Fatal(err)
		}
		if st.On {
			t.Fatalf("off #%d: still on", i+1)
		}
		if count, rule := e.observe(t); count != 3 || rule != ebtypes.RuleStateEnabled {
			t.Fatalf("off #%d: desired %d, rule %s; want 3 and ENABLED", i+1, count, rule)
		}
	}
}

func TestOffKeepsADisabledScheduleDisabled(t *testing.T) {
	ctx := context.Background()
	e := setup(t, 2, ebtypes.RuleStateDisabled)
	m := &maintenance.Manager{ECS: e.ecs, Events: e.events}
	if _, err := m.On(ctx, e.target); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Off(ctx, e.target); err != nil {
		t.Fatal(err)
	}
	if count, rule := e.observe(t); count != 2 || rule != ebtypes.RuleStateDisabled {
		t.Fatalf("desired %d, rule %s; want 2 and the schedule left DISABLED as it was", count, rule)
	}
}

func TestUnknownServiceIsNamed(t *testing.T) {
	e := setup(t, 1, ebtypes.RuleStateEnabled)
	m := &maintenance.Manager{ECS: e.ecs, Events: e.events}
	target := e.target
	target.Service = "nope"
	if _, err := m.On(context.Background(), target); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Fatalf("err = %v, want it to name the missing service", err)
	}
}
