package awsemu_test

import (
	"context"
	"fmt"
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
	"github.com/knowmetools/km-release/testrig/awsemu/emutest"
)

// blueGreen is an ECS service behind an ALB listener with two target groups, a
// CodeDeploy deployment group for it, and a BeforeInstall hook Lambda that runs a
// one-off ECS task with the new task definition and reports its exit code, like the
// product's migration hook.
type blueGreen struct {
	name, app, group, hook  string
	tdV1, tdV2, blue, green string
	listener                string
	network                 *ecstypes.NetworkConfiguration
	cd                      *codedeploy.Client
	ecs                     *ecs.Client
	elb                     *elb.Client
}

func check(tb testing.TB, what string, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatalf("%s: %v", what, err)
	}
}

func newBlueGreen(tb testing.TB, emu *awsemu.Emulator) *blueGreen {
	tb.Helper()
	ctx := context.Background()
	cfg := emu.AWSConfig()
	name := emutest.UniqueName(tb)
	if len(name) > 24 { // target group names are at most 32 characters
		name = name[len(name)-24:]
	}
	bg := &blueGreen{name: name, app: name, group: name, hook: name + "-hook",
		cd: codedeploy.NewFromConfig(cfg), ecs: ecs.NewFromConfig(cfg), elb: elb.NewFromConfig(cfg)}

	ec := ec2.NewFromConfig(cfg)
	vpc, err := ec.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.1.0.0/16")})
	check(tb, "CreateVpc", err)
	// moto fails awsvpc task sets in a VPC without DNS hostnames.
	_, err = ec.ModifyVpcAttribute(ctx, &ec2.ModifyVpcAttributeInput{VpcId: vpc.Vpc.VpcId, EnableDnsHostnames: &ec2types.AttributeBooleanValue{Value: aws.Bool(true)}})
	check(tb, "ModifyVpcAttribute", err)
	var subnets []string
	for i, az := range []string{"us-east-1a", "us-east-1b"} {
		sn, err := ec.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: vpc.Vpc.VpcId, AvailabilityZone: aws.String(az), CidrBlock: aws.String(fmt.Sprintf("10.1.%d.0/24", i))})
		check(tb, "CreateSubnet", err)
		subnets = append(subnets, aws.ToString(sn.Subnet.SubnetId))
	}
	sg, err := ec.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{VpcId: vpc.Vpc.VpcId, GroupName: aws.String(name), Description: aws.String("api")})
	check(tb, "CreateSecurityGroup", err)
	bg.network = &ecstypes.NetworkConfiguration{AwsvpcConfiguration: &ecstypes.AwsVpcConfiguration{Subnets: subnets, SecurityGroups: []string{aws.ToString(sg.GroupId)}}}

	lb, err := bg.elb.CreateLoadBalancer(ctx, &elb.CreateLoadBalancerInput{Name: aws.String(name), Subnets: subnets})
	check(tb, "CreateLoadBalancer", err)
	for _, tg := range []struct {
		suffix string
		arn    *string
	}{{"-b", &bg.blue}, {"-g", &bg.green}} {
		out, err := bg.elb.CreateTargetGroup(ctx, &elb.CreateTargetGroupInput{Name: aws.String(name + tg.suffix), Protocol: elbtypes.ProtocolEnumHttp,
			Port: aws.Int32(8000), VpcId: vpc.Vpc.VpcId, TargetType: elbtypes.TargetTypeEnumIp})
		check(tb, "CreateTargetGroup", err)
		*tg.arn = aws.ToString(out.TargetGroups[0].TargetGroupArn)
	}
	l, err := bg.elb.CreateListener(ctx, &elb.CreateListenerInput{LoadBalancerArn: lb.LoadBalancers[0].LoadBalancerArn, Protocol: elbtypes.ProtocolEnumHttp,
		Port: aws.Int32(80), DefaultActions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: aws.String(bg.blue)}}})
	check(tb, "CreateListener", err)
	bg.listener = aws.ToString(l.Listeners[0].ListenerArn)

	_, err = bg.ecs.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String(name)})
	check(tb, "CreateCluster", err)
	for _, v := range []struct {
		image string
		arn   *string
	}{{"api:1", &bg.tdV1}, {"api:2", &bg.tdV2}} {
		out, err := bg.ecs.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String(name), NetworkMode: ecstypes.NetworkModeAwsvpc,
			RequiresCompatibilities: []ecstypes.Compatibility{ecstypes.CompatibilityFargate}, Cpu: aws.String("256"), Memory: aws.String("512"),
			ContainerDefinitions: []ecstypes.ContainerDefinition{{Name: aws.String("web"), Image: aws.String(v.image), Memory: aws.Int32(512),
				PortMappings: []ecstypes.PortMapping{{ContainerPort: aws.Int32(8000)}}}}})
		check(tb, "RegisterTaskDefinition", err)
		*v.arn = aws.ToString(out.TaskDefinition.TaskDefinitionArn)
	}
	_, err = bg.ecs.CreateService(ctx, &ecs.CreateServiceInput{Cluster: aws.String(name), ServiceName: aws.String(name), TaskDefinition: aws.String(bg.tdV1),
		DesiredCount: aws.Int32(1), LaunchType: ecstypes.LaunchTypeFargate, NetworkConfiguration: bg.network,
		DeploymentController: &ecstypes.DeploymentController{Type: ecstypes.DeploymentControllerTypeCodeDeploy},
		LoadBalancers:        []ecstypes.LoadBalancer{{TargetGroupArn: aws.String(bg.blue), ContainerName: aws.String("web"), ContainerPort: aws.Int32(8000)}}})
	check(tb, "CreateService", err)

	cdRole, err := awsemu.AdminRole(ctx, cfg, "codedeploy", "codedeploy.amazonaws.com")
	check(tb, "CodeDeploy role", err)
	_, err = bg.cd.CreateApplication(ctx, &codedeploy.CreateApplicationInput{ApplicationName: aws.String(name), ComputePlatform: cdtypes.ComputePlatformEcs})
	check(tb, "CreateApplication", err)
	_, err = bg.cd.CreateDeploymentGroup(ctx, &codedeploy.CreateDeploymentGroupInput{ApplicationName: aws.String(name), DeploymentGroupName: aws.String(name),
		DeploymentConfigName: aws.String("CodeDeployDefault.ECSAllAtOnce"), ServiceRoleArn: aws.String(cdRole),
		EcsServices:     []cdtypes.ECSService{{ClusterName: aws.String(name), ServiceName: aws.String(name)}},
		DeploymentStyle: &cdtypes.DeploymentStyle{DeploymentType: cdtypes.DeploymentTypeBlueGreen, DeploymentOption: cdtypes.DeploymentOptionWithTrafficControl},
		BlueGreenDeploymentConfiguration: &cdtypes.BlueGreenDeploymentConfiguration{
			DeploymentReadyOption:                     &cdtypes.DeploymentReadyOption{ActionOnTimeout: cdtypes.DeploymentReadyActionContinueDeployment},
			TerminateBlueInstancesOnDeploymentSuccess: &cdtypes.BlueInstanceTerminationOption{Action: cdtypes.InstanceActionTerminate},
		},
		AutoRollbackConfiguration: &cdtypes.AutoRollbackConfiguration{Enabled: true, Events: []cdtypes.AutoRollbackEvent{cdtypes.AutoRollbackEventDeploymentFailure}},
		LoadBalancerInfo: &cdtypes.LoadBalancerInfo{TargetGroupPairInfoList: []cdtypes.TargetGroupPairInfo{{
			TargetGroups:     []cdtypes.TargetGroupInfo{{Name: aws.String(name + "-b")}, {Name: aws.String(name + "-g")}},
			ProdTrafficRoute: &cdtypes.TrafficRoute{ListenerArns: []string{bg.listener}},
		}}},
	})
	check(tb, "CreateDeploymentGroup", err)

	role, err := awsemu.CreateAdminRole(ctx, cfg, bg.hook, "lambda.amazonaws.com")
	check(tb, "CreateRole", err)
	_, err = lambda.NewFromConfig(cfg).CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String(bg.hook), Role: aws.String(role),
		Runtime: lambdatypes.RuntimeProvidedal2023, Handler: aws.String("bootstrap"), Code: &lambdatypes.FunctionCode{ZipFile: awsemu.PlaceholderZip()}, Timeout: aws.Int32(60),
		Environment: &lambdatypes.Environment{Variables: map[string]string{"CLUSTER": name, "TASK_DEFINITION": bg.tdV2}}})
	check(tb, "CreateFunction", err)
	emu.RegisterLambda(bg.hook, migrationHook(bg.network))
	return bg
}

type hookEvent struct {
	DeploymentId                  string
	LifecycleEventHookExecutionId string
}

// migrationHook runs the migration task and reports Succeeded only when it exited 0.
func migrationHook(network *ecstypes.NetworkConfiguration) awsemu.LambdaFactory {
	return func(_ context.Context, env map[string]string, cfg aws.Config) (awslambda.Handler, error) {
		ecsc, cd := ecs.NewFromConfig(cfg), codedeploy.NewFromConfig(cfg)
		return awslambda.NewHandler(func(ctx context.Context, ev hookEvent) error {
			status := cdtypes.LifecycleEventStatusFailed
			run, err := ecsc.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String(env["CLUSTER"]), TaskDefinition: aws.String(env["TASK_DEFINITION"]),
				LaunchType: ecstypes.LaunchTypeFargate, NetworkConfiguration: network, StartedBy: aws.String("migrate"),
				Overrides: &ecstypes.TaskOverride{ContainerOverrides: []ecstypes.ContainerOverride{{Name: aws.String("web"), Command: []string{"migrate"}}}}})
			if err == nil {
				w := ecs.NewTasksStoppedWaiter(ecsc, func(o *ecs.TasksStoppedWaiterOptions) {
					o.MinDelay, o.MaxDelay = 20*time.Millisecond, 100*time.Millisecond
				})
				var out *ecs.DescribeTasksOutput
				out, err = w.WaitForOutput(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(env["CLUSTER"]), Tasks: []string{aws.ToString(run.Tasks[0].TaskArn)}}, 30*time.Second)
				if err == nil && out.Tasks[0].Containers[0].ExitCode != nil && *out.Tasks[0].Containers[0].ExitCode == 0 {
					status = cdtypes.LifecycleEventStatusSucceeded
				}
			}
			_, perr := cd.PutLifecycleEventHookExecutionStatus(ctx, &codedeploy.PutLifecycleEventHookExecutionStatusInput{
				DeploymentId: aws.String(ev.DeploymentId), LifecycleEventHookExecutionId: aws.String(ev.LifecycleEventHookExecutionId), Status: status})
			if err != nil {
				return err
			}
			return perr
		}), nil
	}
}

func (bg *blueGreen) deploy(tb testing.TB) string {
	tb.Helper()
	spec := fmt.Sprintf(`version: 0.0
Resources:
  - TargetService:
      Type: AWS::ECS::Service
      Properties:
        TaskDefinition: %q
        LoadBalancerInfo:
          ContainerName: web
          ContainerPort: 8000
Hooks:
  - BeforeInstall: %q
`, bg.tdV2, bg.hook)
	out, err := bg.cd.CreateDeployment(context.Background(), &codedeploy.CreateDeploymentInput{ApplicationName: aws.String(bg.app), DeploymentGroupName: aws.String(bg.group),
		Revision: &cdtypes.RevisionLocation{RevisionType: cdtypes.RevisionLocationTypeAppSpecContent, AppSpecContent: &cdtypes.AppSpecContent{Content: aws.String(spec)}}})
	check(tb, "CreateDeployment", err)
	return aws.ToString(out.DeploymentId)
}

func (bg *blueGreen) waitSucceeded(tb testing.TB, id string) error {
	w := codedeploy.NewDeploymentSuccessfulWaiter(bg.cd, func(o *codedeploy.DeploymentSuccessfulWaiterOptions) {
		o.MinDelay, o.MaxDelay = 50*time.Millisecond, 200*time.Millisecond
	})
	err := w.Wait(context.Background(), &codedeploy.GetDeploymentInput{DeploymentId: aws.String(id)}, time.Minute)
	if err != nil {
		if d, derr := bg.cd.GetDeployment(context.Background(), &codedeploy.GetDeploymentInput{DeploymentId: aws.String(id)}); derr == nil && d.DeploymentInfo.ErrorInformation != nil {
			return fmt.Errorf("%w: %s: %s", err, d.DeploymentInfo.ErrorInformation.Code, aws.ToString(d.DeploymentInfo.ErrorInformation.Message))
		}
	}
	return err
}

func (bg *blueGreen) serviceTaskDefinition(tb testing.TB) string {
	out, err := bg.ecs.DescribeServices(context.Background(), &ecs.DescribeServicesInput{Cluster: aws.String(bg.name), Services: []string{bg.name}})
	check(tb, "DescribeServices", err)
	return aws.ToString(out.Services[0].TaskDefinition)
}

func (bg *blueGreen) listenerTarget(tb testing.TB) string {
	out, err := bg.elb.DescribeListeners(context.Background(), &elb.DescribeListenersInput{ListenerArns: []string{bg.listener}})
	check(tb, "DescribeListeners", err)
	a := out.Listeners[0].DefaultActions[0]
	if a.TargetGroupArn != nil {
		return aws.ToString(a.TargetGroupArn)
	}
	for _, tg := range a.ForwardConfig.TargetGroups {
		if aws.ToInt32(tg.Weight) > 0 {
			return aws.ToString(tg.TargetGroupArn)
		}
	}
	return ""
}

func TestBlueGreenDeploymentThroughEndpoint(t *testing.T) {
	emu := emutest.Start(t)
	bg := newBlueGreen(t, emu)
	start := time.Now()
	id := bg.deploy(t)
	if err := bg.waitSucceeded(t, id); err != nil {
		t.Fatalf("DeploymentSuccessful waiter: %v", err)
	}
	t.Logf("one-hook blue/green deployment took %s", time.Since(start))
	if got := bg.serviceTaskDefinition(t); got != bg.tdV2 {
		t.Errorf("service runs %s, want %s", got, bg.tdV2)
	}
	if got := bg.listenerTarget(t); got != bg.green {
		t.Errorf("listener forwards to %s, want the green target group %s", got, bg.green)
	}
	tasks, err := bg.ecs.ListTasks(context.Background(), &ecs.ListTasksInput{Cluster: aws.String(bg.name), StartedBy: aws.String("migrate"), DesiredStatus: ecstypes.DesiredStatusStopped})
	if err != nil || len(tasks.TaskArns) != 1 {
		t.Errorf("migration tasks = %v, %v; want one", tasks, err)
	}
}

func TestBlueGreenFailedMigrationRollsBack(t *testing.T) {
	emu := emutest.Start(t)
	bg := newBlueGreen(t, emu)
	emu.Faults().NextTaskExit("web", 1, "migration failed")
	id := bg.deploy(t)
	if err := bg.waitSucceeded(t, id); err == nil {
		t.Fatal("deployment with a failed migration succeeded")
	}
	d, err := bg.cd.GetDeployment(context.Background(), &codedeploy.GetDeploymentInput{DeploymentId: aws.String(id)})
	check(t, "GetDeployment", err)
	if d.DeploymentInfo.Status != cdtypes.DeploymentStatusFailed {
		t.Errorf("status %s, want Failed", d.DeploymentInfo.Status)
	}
	if got := bg.serviceTaskDefinition(t); got != bg.tdV1 {
		t.Errorf("service runs %s after the failed deployment, want %s", got, bg.tdV1)
	}
	if got := bg.listenerTarget(t); got != bg.blue {
		t.Errorf("listener forwards to %s after the failed deployment, want blue %s", got, bg.blue)
	}
}
