package hook_test

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	awslambda "github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
	cdtypes "github.com/aws/aws-sdk-go-v2/service/codedeploy/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/sethvargo/go-envconfig"

	"github.com/knowmetools/km-release/internal/appspec"
	"github.com/knowmetools/km-release/lambdas/internal/lambdaenv"
	"github.com/knowmetools/km-release/lambdas/migrate/hook"
	"github.com/knowmetools/km-release/testrig/awsemu"
	"github.com/knowmetools/km-release/testrig/awsemu/emutest"
	"github.com/knowmetools/km-release/testrig/ecstasktest"
	"github.com/knowmetools/km-release/testrig/syncbuf"
)

// envs records the environment each emulated task's containers received, by task ARN,
// to prove secrets reach the migration through the task definition.
var envs sync.Map

type recordingRunner struct{ awsemu.SimulatedRunner }

func (r recordingRunner) Run(ctx context.Context, task *awsemu.TaskRun) awsemu.TaskOutcome {
	for _, c := range task.Containers {
		envs.Store(task.TaskARN+"/"+c.Name, c.Environment)
	}
	return r.SimulatedRunner.Run(ctx, task)
}

func TestMain(m *testing.M) {
	emutest.Options.TaskRunner = recordingRunner{}
	// A hook that never reports must not hold a test for AWS's hour.
	emutest.Options.HookTimeout = 30 * time.Second
	emutest.Main(m)
}

// site is an API service deployed blue/green by CodeDeploy, with the migration hook as
// its BeforeInstall Lambda.
type site struct {
	t          *testing.T
	emu        *awsemu.Emulator
	fx         *ecstasktest.Fixture
	name       string
	v1, v2     string // task definition ARNs
	hookFn     string
	cd         *codedeploy.Client
	ecs        *ecs.Client
	log        *syncbuf.Buffer
	events     chan hook.Event // hook invocations, when the function records instead of running
	lambdaTime int32
}

type siteOptions struct {
	// record registers a function that only records its events, for tests driving the
	// hook's Handle themselves; otherwise the real hook runs.
	record bool
	// env overrides the hook's environment.
	env map[string]string
	// timeout is the hook function's timeout in seconds (default 60).
	timeout int32
}

func newSite(t *testing.T, o siteOptions) *site {
	t.Helper()
	emu := emutest.Start(t)
	cfg := emu.AWSConfig()
	ctx := t.Context()
	name := emutest.UniqueName(t)
	if len(name) > 24 { // target group names are at most 32 characters
		name = name[len(name)-24:]
	}
	s := &site{t: t, emu: emu, fx: ecstasktest.New(t, cfg, name), name: name, hookFn: name + "-migrate",
		cd: codedeploy.NewFromConfig(cfg), ecs: ecs.NewFromConfig(cfg), log: &syncbuf.Buffer{}, events: make(chan hook.Event, 4)}
	s.v1, s.v2 = s.fx.TaskDefinition, s.fx.Register(t, "example/api:2")
	check := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}

	elbc := elb.NewFromConfig(cfg)
	lb, err := elbc.CreateLoadBalancer(ctx, &elb.CreateLoadBalancerInput{Name: aws.String(name), Subnets: s.fx.Subnets})
	check("CreateLoadBalancer", err)
	var tgs []string
	for _, suffix := range []string{"-b", "-g"} {
		out, err := elbc.CreateTargetGroup(ctx, &elb.CreateTargetGroupInput{Name: aws.String(name + suffix), Protocol: elbtypes.ProtocolEnumHttp,
			Port: aws.Int32(8000), VpcId: lb.LoadBalancers[0].VpcId, TargetType: elbtypes.TargetTypeEnumIp})
		check("CreateTargetGroup", err)
		tgs = append(tgs, aws.ToString(out.TargetGroups[0].TargetGroupArn))
	}
	l, err := elbc.CreateListener(ctx, &elb.CreateListenerInput{LoadBalancerArn: lb.LoadBalancers[0].LoadBalancerArn, Protocol: elbtypes.ProtocolEnumHttp,
		Port: aws.Int32(80), DefaultActions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: aws.String(tgs[0])}}})
	check("CreateListener", err)

	_, err = s.ecs.CreateService(ctx, &ecs.CreateServiceInput{Cluster: aws.String(s.fx.Cluster), ServiceName: aws.String(name), TaskDefinition: aws.String(s.v1),
		DesiredCount: aws.Int32(1), LaunchType: ecstypes.LaunchTypeFargate,
		NetworkConfiguration: &ecstypes.NetworkConfiguration{AwsvpcConfiguration: &ecstypes.AwsVpcConfiguration{Subnets: s.fx.Subnets, SecurityGroups: s.fx.SecurityGroups}},
		DeploymentController: &ecstypes.DeploymentController{Type: ecstypes.DeploymentControllerTypeCodeDeploy},
		LoadBalancers:        []ecstypes.LoadBalancer{{TargetGroupArn: aws.String(tgs[0]), ContainerName: aws.String(ecstasktest.Container), ContainerPort: aws.Int32(8000)}}})
	check("CreateService", err)

	cdRole, err := awsemu.AdminRole(ctx, cfg, "codedeploy", "codedeploy.amazonaws.com")
	check("CodeDeploy role", err)
	_, err = s.cd.CreateApplication(ctx, &codedeploy.CreateApplicationInput{ApplicationName: aws.String(name), ComputePlatform: cdtypes.ComputePlatformEcs})
	check("CreateApplication", err)
	_, err = s.cd.CreateDeploymentGroup(ctx, &codedeploy.CreateDeploymentGroupInput{ApplicationName: aws.String(name), DeploymentGroupName: aws.String(name),
		DeploymentConfigName: aws.String("CodeDeployDefault.ECSAllAtOnce"), ServiceRoleArn: aws.String(cdRole),
		EcsServices:     []cdtypes.ECSService{{ClusterName: aws.String(s.fx.Cluster), ServiceName: aws.String(name)}},
		DeploymentStyle: &cdtypes.DeploymentStyle{DeploymentType: cdtypes.DeploymentTypeBlueGreen, DeploymentOption: cdtypes.DeploymentOptionWithTrafficControl},
		BlueGreenDeploymentConfiguration: &cdtypes.BlueGreenDeploymentConfiguration{
			DeploymentReadyOption:                     &cdtypes.DeploymentReadyOption{ActionOnTimeout: cdtypes.DeploymentReadyActionContinueDeployment},
			TerminateBlueInstancesOnDeploymentSuccess: &cdtypes.BlueInstanceTerminationOption{Action: cdtypes.InstanceActionTerminate},
		},
		AutoRollbackConfiguration: &cdtypes.AutoRollbackConfiguration{Enabled: true, Events: []cdtypes.AutoRollbackEvent{cdtypes.AutoRollbackEventDeploymentFailure}},
		LoadBalancerInfo: &cdtypes.LoadBalancerInfo{TargetGroupPairInfoList: []cdtypes.TargetGroupPairInfo{{
			TargetGroups:     []cdtypes.TargetGroupInfo{{Name: aws.String(name + "-b")}, {Name: aws.String(name + "-g")}},
			ProdTrafficRoute: &cdtypes.TrafficRoute{ListenerArns: []string{aws.ToString(l.Listeners[0].ListenerArn)}},
		}}},
	})
	check("CreateDeploymentGroup", err)

	env := s.fx.Env()
	for k, v := range o.env {
		env[k] = v
	}
	if o.timeout == 0 {
		o.timeout = 60
	}
	role, err := awsemu.CreateAdminRole(ctx, cfg, s.hookFn, "lambda.amazonaws.com")
	check("CreateRole", err)
	_, err = lambda.NewFromConfig(cfg).CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String(s.hookFn), Role: aws.String(role),
		Runtime: lambdatypes.RuntimeProvidedal2023, Handler: aws.String("bootstrap"), Code: &lambdatypes.FunctionCode{ZipFile: awsemu.PlaceholderZip()},
		Timeout: aws.Int32(o.timeout), Environment: &lambdatypes.Environment{Variables: env}})
	check("CreateFunction", err)
	if o.record {
		emu.RegisterLambda(s.hookFn, func(context.Context, map[string]string, aws.Config) (awslambda.Handler, error) {
			return awslambda.NewHandler(func(ev hook.Event) { s.events <- ev }), nil
		})
	} else {
		emu.RegisterLambda(s.hookFn, func(ctx context.Context, env map[string]string, cfg aws.Config) (awslambda.Handler, error) {
			h := hook.New(ctx, envconfig.MapLookuper(env), cfg, lambdaenv.Logger(s.log))
			return awslambda.NewHandler(h.Handle), nil
		})
	}
	return s
}

// hook builds the hook as the function would, logging into the site's log.
func (s *site) hook(env map[string]string) *hook.Hook {
	e := s.fx.Env()
	for k, v := range env {
		e[k] = v
	}
	return hook.New(s.t.Context(), envconfig.MapLookuper(e), s.emu.AWSConfig(), slog.New(slog.NewJSONHandler(s.log, nil)))
}

// deploy starts a deployment of v2 with the AppSpec rendered in format and carried by
// revision type rt.
func (s *site) deploy(rt cdtypes.RevisionLocationType, format appspec.Format) string {
	s.t.Helper()
	spec, err := appspec.New(appspec.ECSService{TaskDefinition: s.v2, ContainerName: ecstasktest.Container, ContainerPort: 8000,
		Hooks: []appspec.Hook{{Event: appspec.BeforeInstall, Function: s.hookFn}}})
	if err != nil {
		s.t.Fatal(err)
	}
	content, err := spec.Render(format)
	if err != nil {
		s.t.Fatal(err)
	}
	rev := &cdtypes.RevisionLocation{RevisionType: rt}
	if rt == cdtypes.RevisionLocationTypeString {
		rev.String_ = &cdtypes.RawString{Content: aws.String(string(content))}
	} else {
		rev.AppSpecContent = &cdtypes.AppSpecContent{Content: aws.String(string(content))}
	}
	out, err := s.cd.CreateDeployment(s.t.Context(), &codedeploy.CreateDeploymentInput{ApplicationName: aws.String(s.name),
		DeploymentGroupName: aws.String(s.name), Revision: rev})
	if err != nil {
		s.t.Fatalf("CreateDeployment: %v", err)
	}
	return aws.ToString(out.DeploymentId)
}

// event waits for the recorded hook invocation of deployment id.
func (s *site) event(id string) hook.Event {
	s.t.Helper()
	select {
	case ev := <-s.events:
		if ev.DeploymentID != id {
			s.t.Fatalf("hook invoked for %s, want %s", ev.DeploymentID, id)
		}
		return ev
	case <-time.After(20 * time.Second):
		s.t.Fatalf("CodeDeploy did not invoke the hook for %s", id)
	}
	return hook.Event{}
}

// finish waits for the deployment to end and returns its status.
func (s *site) finish(id string) *cdtypes.DeploymentInfo {
	s.t.Helper()
	deadline := time.Now().Add(40 * time.Second)
	for time.Now().Before(deadline) {
		d, err := s.cd.GetDeployment(s.t.Context(), &codedeploy.GetDeploymentInput{DeploymentId: aws.String(id)})
		if err != nil {
			s.t.Fatalf("GetDeployment: %v", err)
		}
		switch d.DeploymentInfo.Status {
		case cdtypes.DeploymentStatusSucceeded, cdtypes.DeploymentStatusFailed, cdtypes.DeploymentStatusStopped:
			return d.DeploymentInfo
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.t.Fatalf("deployment %s did not finish\nhook log:\n%s", id, s.log.String())
	return nil
}

// migrations are the tasks started for deployment id.
func (s *site) migrations(id string) []ecstypes.Task {
	s.t.Helper()
	var all []ecstypes.Task
	for _, st := range []ecstypes.DesiredStatus{ecstypes.DesiredStatusRunning, ecstypes.DesiredStatusStopped} {
		l, err := s.ecs.ListTasks(s.t.Context(), &ecs.ListTasksInput{Cluster: aws.String(s.fx.Cluster), DesiredStatus: st})
		if err != nil {
			s.t.Fatal(err)
		}
		if len(l.TaskArns) == 0 {
			continue
		}
		d, err := s.ecs.DescribeTasks(s.t.Context(), &ecs.DescribeTasksInput{Cluster: aws.String(s.fx.Cluster), Tasks: l.TaskArns})
		if err != nil {
			s.t.Fatal(err)
		}
		for _, task := range d.Tasks {
			if aws.ToString(task.StartedBy) == id {
				all = append(all, task)
			}
		}
	}
	return all
}

func (s *site) String() string { return fmt.Sprintf("site %s", s.name) }
