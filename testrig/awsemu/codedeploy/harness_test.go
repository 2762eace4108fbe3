package codedeploy_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	awslambda "github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
	cdtypes "github.com/aws/aws-sdk-go-v2/service/codedeploy/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/knowmetools/km-release/testrig/awsemu"
	cdemu "github.com/knowmetools/km-release/testrig/awsemu/codedeploy"
	"github.com/knowmetools/km-release/testrig/awsemu/emutest"
)

func TestMain(m *testing.M) {
	emutest.Options.DeploymentStepDelay = 2 * time.Millisecond
	emutest.Options.Install = func(ctx context.Context, r cdemu.InstallRequest) error {
		if f, _ := installFunc.Load().(func(context.Context, cdemu.InstallRequest) error); f != nil {
			return f(ctx, r)
		}
		return nil
	}
	emutest.Main(m)
}

// installFunc is the current test's Install callback (the emulator is shared).
var installFunc atomic.Value

// harness gives a test the shared emulator, its CodeDeploy emulation and helpers to
// register hook Lambdas. Tests using it must not run in parallel: hook timeout and
// injected faults belong to the one CodeDeploy emulation.
type harness struct {
	t   testing.TB
	emu *awsemu.Emulator
	cfg aws.Config
	cd  *cdemu.Server

	roleOnce sync.Once
	role     *string
}

type harnessOptions struct {
	hookTimeout time.Duration
	install     func(ctx context.Context, r cdemu.InstallRequest) error
}

func newHarness(t testing.TB, o harnessOptions) *harness {
	t.Helper()
	emu := emutest.Start(t)
	h := &harness{t: t, emu: emu, cfg: emu.AWSConfig(), cd: emu.CodeDeploy()}
	if o.hookTimeout > 0 {
		h.cd.SetHookTimeout(o.hookTimeout)
		t.Cleanup(func() { h.cd.SetHookTimeout(time.Hour) })
	}
	if o.install != nil {
		installFunc.Store(o.install)
		t.Cleanup(func() { installFunc.Store(func(context.Context, cdemu.InstallRequest) error { return nil }) })
	}
	return h
}

// createFunction creates the Lambda function in the emulation, which Invoke requires
// before it runs the registered handler.
func (h *harness) createFunction(name string) {
	ctx := context.Background()
	h.roleOnce.Do(func() {
		role, err := awsemu.CreateAdminRole(ctx, h.cfg, name+"-role", "lambda.amazonaws.com")
		if err != nil {
			h.t.Fatalf("CreateRole: %v", err)
		}
		h.role = aws.String(role)
	})
	_, err := lambda.NewFromConfig(h.cfg).CreateFunction(ctx, &lambda.CreateFunctionInput{
		FunctionName: aws.String(name), Role: h.role, Runtime: lambdatypes.RuntimeProvidedal2023,
		Handler: aws.String("bootstrap"), Code: &lambdatypes.FunctionCode{ZipFile: awsemu.PlaceholderZip()}, Timeout: aws.Int32(30),
	})
	if err != nil {
		h.t.Fatalf("CreateFunction %s: %v", name, err)
	}
}

// hookEvent is the payload CodeDeploy sends a lifecycle hook.
type hookEvent struct {
	DeploymentId                  string
	LifecycleEventHookExecutionId string
}

// hookFunc registers a hook Lambda that reports decide(event)'s status ("" = never
// report) and counts its invocations.
func (h *harness) hookFunc(name string, decide func(hookEvent) cdtypes.LifecycleEventStatus) *atomic.Int32 {
	calls := new(atomic.Int32)
	h.createFunction(name)
	h.emu.RegisterLambda(name, func(_ context.Context, _ map[string]string, awsCfg aws.Config) (awslambda.Handler, error) {
		cd := codedeploy.NewFromConfig(awsCfg)
		return awslambda.NewHandler(func(ctx context.Context, ev hookEvent) error {
			calls.Add(1)
			status := decide(ev)
			if status == "" {
				return nil
			}
			_, err := cd.PutLifecycleEventHookExecutionStatus(ctx, &codedeploy.PutLifecycleEventHookExecutionStatusInput{
				DeploymentId: &ev.DeploymentId, LifecycleEventHookExecutionId: &ev.LifecycleEventHookExecutionId, Status: status,
			})
			return err
		}), nil
	})
	return calls
}

func succeed(hookEvent) cdtypes.LifecycleEventStatus { return cdtypes.LifecycleEventStatusSucceeded }

var seq atomic.Int64

// fixture is one ECS service behind an ALB with two target groups, and a CodeDeploy
// application and deployment group for it.
type fixture struct {
	h                    *harness
	cd                   *codedeploy.Client
	ecs                  *ecs.Client
	elb                  *elb.Client
	app, group           string
	cluster, service     string
	blueName, greenName  string
	blue, green          string // target group ARNs
	prodListener         string
	testListener         string
	taskDefV1, taskDefV2 string
}

type fixtureOptions struct {
	rollback    *cdtypes.AutoRollbackConfiguration
	readyOption *cdtypes.DeploymentReadyOption
	terminate   *cdtypes.BlueInstanceTerminationOption
	config      string
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func newFixture(t testing.TB, h *harness, o fixtureOptions) *fixture {
	t.Helper()
	ctx := context.Background()
	n := seq.Add(1)
	id := fmt.Sprintf("cd%d%d", time.Now().UnixNano()%100000, n)
	f := &fixture{
		h: h, cd: codedeploy.NewFromConfig(h.cfg), ecs: ecs.NewFromConfig(h.cfg), elb: elb.NewFromConfig(h.cfg),
		app: id + "-app", group: id + "-group", cluster: id + "-cluster", service: id + "-api",
		blueName: id + "-blue", greenName: id + "-green",
	}
	ec := ec2.NewFromConfig(h.cfg)
	fail := func(what string, err error) {
		if err != nil {
			t.Fatalf("fixture: %s: %v", what, err)
		}
	}
	vpc, err := ec.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.0.0.0/16")})
	fail("create VPC", err)
	// moto's task sets start awsvpc tasks, which need DNS hostnames in the VPC.
	_, err = ec.ModifyVpcAttribute(ctx, &ec2.ModifyVpcAttributeInput{VpcId: vpc.Vpc.VpcId, EnableDnsHostnames: &ec2types.AttributeBooleanValue{Value: aws.Bool(true)}})
	fail("enable DNS hostnames", err)
	var subnets []string
	for i, az := range []string{"us-east-1a", "us-east-1b"} {
		sn, err := ec.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: vpc.Vpc.VpcId, CidrBlock: aws.String(fmt.Sprintf("10.0.%d.0/24", i+1)), AvailabilityZone: &az})
		fail("create subnet", err)
		subnets = append(subnets, *sn.Subnet.SubnetId)
	}
	sg, err := ec.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String(id), Description: aws.String("api"), VpcId: vpc.Vpc.VpcId})
	fail("create security group", err)
	lb, err := f.elb.CreateLoadBalancer(ctx, &elb.CreateLoadBalancerInput{Name: aws.String(id), Subnets: subnets})
	fail("create load balancer", err)
	for _, tg := range []struct {
		name string
		arn  *string
	}{{f.blueName, &f.blue}, {f.greenName, &f.green}} {
		out, err := f.elb.CreateTargetGroup(ctx, &elb.CreateTargetGroupInput{
			Name: aws.String(tg.name), Protocol: elbtypes.ProtocolEnumHttp, Port: aws.Int32(8000), VpcId: vpc.Vpc.VpcId,
			TargetType: elbtypes.TargetTypeEnumIp, HealthCheckPath: aws.String("/status/"),
		})
		fail("create target group", err)
		*tg.arn = *out.TargetGroups[0].TargetGroupArn
	}
	for _, l := range []struct {
		port int32
		arn  *string
	}{{80, &f.prodListener}, {8080, &f.testListener}} {
		out, err := f.elb.CreateListener(ctx, &elb.CreateListenerInput{
			LoadBalancerArn: lb.LoadBalancers[0].LoadBalancerArn, Protocol: elbtypes.ProtocolEnumHttp, Port: aws.Int32(l.port),
			DefaultActions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: &f.blue}},
		})
		fail("create listener", err)
		*l.arn = *out.Listeners[0].ListenerArn
	}
	_, err = f.ecs.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: &f.cluster})
	fail("create cluster", err)
	for _, v := range []struct {
		image string
		arn   *string
	}{{"api:v1", &f.taskDefV1}, {"api:v2", &f.taskDefV2}} {
		out, err := f.ecs.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
			Family: aws.String(id + "-api"), NetworkMode: ecstypes.NetworkModeAwsvpc, Cpu: aws.String("256"), Memory: aws.String("512"),
			RequiresCompatibilities: []ecstypes.Compatibility{ecstypes.CompatibilityFargate},
			ContainerDefinitions: []ecstypes.ContainerDefinition{{
				Name: aws.String("web"), Image: aws.String(v.image), Memory: aws.Int32(256),
				PortMappings: []ecstypes.PortMapping{{ContainerPort: aws.Int32(8000)}},
			}},
		})
		fail("register task definition", err)
		*v.arn = *out.TaskDefinition.TaskDefinitionArn
	}
	_, err = f.ecs.CreateService(ctx, &ecs.CreateServiceInput{
		Cluster: &f.cluster, ServiceName: &f.service, TaskDefinition: &f.taskDefV1, DesiredCount: aws.Int32(2),
		LaunchType:           ecstypes.LaunchTypeFargate,
		DeploymentController: &ecstypes.DeploymentController{Type: ecstypes.DeploymentControllerTypeCodeDeploy},
		LoadBalancers:        []ecstypes.LoadBalancer{{TargetGroupArn: &f.blue, ContainerName: aws.String("web"), ContainerPort: aws.Int32(8000)}},
		NetworkConfiguration: &ecstypes.NetworkConfiguration{AwsvpcConfiguration: &ecstypes.AwsVpcConfiguration{
			Subnets: subnets, SecurityGroups: []string{*sg.GroupId},
		}},
	})
	fail("create service", err)

	_, err = f.cd.CreateApplication(ctx, &codedeploy.CreateApplicationInput{ApplicationName: &f.app, ComputePlatform: cdtypes.ComputePlatformEcs})
	fail("create application", err)
	terminate := o.terminate
	if terminate == nil {
		terminate = &cdtypes.BlueInstanceTerminationOption{Action: cdtypes.InstanceActionTerminate, TerminationWaitTimeInMinutes: 0}
	}
	ready := o.readyOption
	if ready == nil {
		ready = &cdtypes.DeploymentReadyOption{ActionOnTimeout: cdtypes.DeploymentReadyActionContinueDeployment}
	}
	cfgName := o.config
	if cfgName == "" {
		cfgName = "CodeDeployDefault.ECSAllAtOnce"
	}
	cdRole, err := awsemu.AdminRole(ctx, f.h.cfg, "codedeploy", "codedeploy.amazonaws.com")
	if err != nil {
		t.Fatalf("CodeDeploy role: %v", err)
	}
	_, err = f.cd.CreateDeploymentGroup(ctx, &codedeploy.CreateDeploymentGroupInput{
		ApplicationName: &f.app, DeploymentGroupName: &f.group, DeploymentConfigName: &cfgName,
		ServiceRoleArn: aws.String(cdRole),
		EcsServices:    []cdtypes.ECSService{{ClusterName: &f.cluster, ServiceName: &f.service}},
		DeploymentStyle: &cdtypes.DeploymentStyle{
			DeploymentType: cdtypes.DeploymentTypeBlueGreen, DeploymentOption: cdtypes.DeploymentOptionWithTrafficControl,
		},
		BlueGreenDeploymentConfiguration: &cdtypes.BlueGreenDeploymentConfiguration{
			DeploymentReadyOption: ready, TerminateBlueInstancesOnDeploymentSuccess: terminate,
		},
		AutoRollbackConfiguration: o.rollback,
		LoadBalancerInfo: &cdtypes.LoadBalancerInfo{TargetGroupPairInfoList: []cdtypes.TargetGroupPairInfo{{
			TargetGroups:     []cdtypes.TargetGroupInfo{{Name: &f.blueName}, {Name: &f.greenName}},
			ProdTrafficRoute: &cdtypes.TrafficRoute{ListenerArns: []string{f.prodListener}},
			TestTrafficRoute: &cdtypes.TrafficRoute{ListenerArns: []string{f.testListener}},
		}}},
	})
	fail("create deployment group", err)
	return f
}

// appSpecYAML renders an ECS AppSpec for taskDef with the given hooks (event → function).
func appSpecYAML(taskDef string, hooks ...[2]string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "version: 0.0\nResources:\n  - TargetService:\n      Type: AWS::ECS::Service\n      Properties:\n")
	fmt.Fprintf(&b, "        TaskDefinition: %q\n        LoadBalancerInfo:\n          ContainerName: web\n          ContainerPort: 8000\n", taskDef)
	if len(hooks) > 0 {
		b.WriteString("Hooks:\n")
		for _, hk := range hooks {
			fmt.Fprintf(&b, "  - %s: %q\n", hk[0], hk[1])
		}
	}
	return b.String()
}

// appSpecJSON renders the same AppSpec as JSON.
func appSpecJSON(taskDef string, hooks ...[2]string) string {
	spec := map[string]any{
		"version": 0.0,
		"Resources": []any{map[string]any{"TargetService": map[string]any{
			"Type": "AWS::ECS::Service",
			"Properties": map[string]any{
				"TaskDefinition":   taskDef,
				"LoadBalancerInfo": map[string]any{"ContainerName": "web", "ContainerPort": 8000},
			},
		}}},
	}
	var hs []any
	for _, hk := range hooks {
		hs = append(hs, map[string]string{hk[0]: hk[1]})
	}
	if hs != nil {
		spec["Hooks"] = hs
	}
	return string(must(json.Marshal(spec)))
}

func (f *fixture) deploy(t testing.TB, content string) string {
	t.Helper()
	out, err := f.cd.CreateDeployment(context.Background(), &codedeploy.CreateDeploymentInput{
		ApplicationName: &f.app, DeploymentGroupName: &f.group,
		Revision: &cdtypes.RevisionLocation{
			RevisionType:   cdtypes.RevisionLocationTypeAppSpecContent,
			AppSpecContent: &cdtypes.AppSpecContent{Content: &content},
		},
	})
	if err != nil {
		t.Fatalf("CreateDeployment: %v", err)
	}
	return *out.DeploymentId
}

func (f *fixture) get(t testing.TB, id string) *cdtypes.DeploymentInfo {
	t.Helper()
	out, err := f.cd.GetDeployment(context.Background(), &codedeploy.GetDeploymentInput{DeploymentId: &id})
	if err != nil {
		t.Fatalf("GetDeployment %s: %v", id, err)
	}
	return out.DeploymentInfo
}

// waitStatus polls until the deployment reaches one of the statuses, failing the test
// with the last status seen after timeout.
func (f *fixture) waitStatus(t testing.TB, id string, timeout time.Duration, want ...cdtypes.DeploymentStatus) *cdtypes.DeploymentInfo {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		d := f.get(t, id)
		for _, w := range want {
			if d.Status == w {
				return d
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("deployment %s: status %s after %s, want %v (error %+v)", id, d.Status, timeout, want, d.ErrorInformation)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// prodTarget returns the target group ARN the listener forwards to.
func (f *fixture) forwardsTo(t testing.TB, listener string) string {
	t.Helper()
	out, err := f.elb.DescribeListeners(context.Background(), &elb.DescribeListenersInput{ListenerArns: []string{listener}})
	if err != nil {
		t.Fatalf("DescribeListeners: %v", err)
	}
	a := out.Listeners[0].DefaultActions[0]
	if a.TargetGroupArn != nil {
		return *a.TargetGroupArn
	}
	return fmt.Sprintf("weighted %+v", a.ForwardConfig)
}

func (f *fixture) serviceTaskDef(t testing.TB) (string, []ecstypes.TaskSet) {
	t.Helper()
	out, err := f.ecs.DescribeServices(context.Background(), &ecs.DescribeServicesInput{Cluster: &f.cluster, Services: []string{f.service}})
	if err != nil {
		t.Fatalf("DescribeServices: %v", err)
	}
	return *out.Services[0].TaskDefinition, out.Services[0].TaskSets
}

func (f *fixture) target(t testing.TB, id string) *cdtypes.ECSTarget {
	t.Helper()
	out, err := f.cd.GetDeploymentTarget(context.Background(), &codedeploy.GetDeploymentTargetInput{
		DeploymentId: &id, TargetId: aws.String(f.cluster + ":" + f.service),
	})
	if err != nil {
		t.Fatalf("GetDeploymentTarget: %v", err)
	}
	return out.DeploymentTarget.EcsTarget
}

func eventStatuses(tg *cdtypes.ECSTarget) map[string]cdtypes.LifecycleEventStatus {
	m := map[string]cdtypes.LifecycleEventStatus{}
	for _, e := range tg.LifecycleEvents {
		m[*e.LifecycleEventName] = e.Status
	}
	return m
}
