// Package envfixture builds the API part of an environment in the local AWS emulation
// in about a second: the network, load balancer (two target groups, production and
// test listeners), ECS cluster, task definition with awslogs, a CODE_DEPLOY service,
// the CodeDeploy application and blue/green deployment group, the ECR repository with
// an image, and the migration hook Lambda, run in-process by the emulation.
//
// The focused rollout tests use it: each needs an environment of its own, and a real
// `terraform apply` of infra/ takes about two minutes. What infra/ itself creates is
// tested by the rehearsal (testrig/rehearsal), which applies the real infra/.
package envfixture

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
	cdtypes "github.com/aws/aws-sdk-go-v2/service/codedeploy/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/knowmetools/km-release/internal/config"
	"github.com/knowmetools/km-release/testrig/awsemu"
)

// Options shape the environment. Only Name is required. The cluster, service, log
// group, CodeDeploy and function names follow infra/'s, with Name in place of its
// "<app>-<env>".
type Options struct {
	// Name prefixes every resource; it must be unique in the emulation, lower case
	// letters, digits and dashes, at most 20 characters (target group names are short).
	Name string
	// ContainerName is the API container's name; default "api".
	ContainerName string
	// ContainerPort is the API container's port; default 8000.
	ContainerPort int32
	// DesiredCount of the service; default 1.
	DesiredCount int32
	// HookEvent is the lifecycle event of the migration hook; default BeforeInstall.
	HookEvent string
	// NoMigrateHook deploys without any hook; by default the migration function runs
	// the product's real hook (MigrateHook).
	NoMigrateHook bool
	// InitialImage is the image of the first revision; default an image pushed to the
	// emulation's registry (tag "initial").
	InitialImage string
	// Environment of the API container; default DJANGO_ENV set to Name.
	Environment []ecstypes.KeyValuePair
	// Secrets of the API container (Secrets Manager or SSM references); default none.
	Secrets []ecstypes.Secret
	// ProdPort and TestPort are the production and test listeners' ports; default 80
	// and 8080.
	ProdPort, TestPort int32
}

func (o *Options) defaults() error {
	if o.Name == "" {
		return errors.New("envfixture: Options.Name is required")
	}
	if len(o.Name) > 20 || strings.Trim(o.Name, "abcdefghijklmnopqrstuvwxyz0123456789-") != "" {
		return fmt.Errorf("envfixture: name %q must be at most 20 characters of [a-z0-9-]", o.Name)
	}
	if o.ContainerName == "" {
		o.ContainerName = "api"
	}
	if o.ContainerPort == 0 {
		o.ContainerPort = 8000
	}
	if o.DesiredCount == 0 {
		o.DesiredCount = 1
	}
	if o.Environment == nil {
		o.Environment = []ecstypes.KeyValuePair{{Name: aws.String("DJANGO_ENV"), Value: aws.String(o.Name)}}
	}
	if o.ProdPort == 0 {
		o.ProdPort = 80
	}
	if o.TestPort == 0 {
		o.TestPort = 8080
	}
	if o.HookEvent == "" {
		o.HookEvent = "BeforeInstall"
	}
	return nil
}

// Env is a built environment.
type Env struct {
	Emu       *awsemu.Emulator
	AWS       aws.Config
	Resources config.Resources
	// InitialImage and InitialTaskDefinition (ARN) are what the service runs at first.
	InitialImage          string
	InitialTaskDefinition string
	// Repository is the ECR repository name the images live in.
	Repository string
	// VPC is the ID of the environment's VPC.
	VPC string
	// LambdaRole is the ARN of the role the environment's functions run as.
	LambdaRole string
}

// New builds the environment in emu. It takes a few seconds (moto calls).
func New(ctx context.Context, emu *awsemu.Emulator, opts Options) (*Env, error) {
	if err := opts.defaults(); err != nil {
		return nil, err
	}
	b := &builder{
		opts: opts,
		env:  &Env{Emu: emu, AWS: emu.AWSConfig(), Repository: opts.Name + "/api"},
	}
	cfg := b.env.AWS
	b.ec2, b.elb, b.ecs = ec2.NewFromConfig(cfg), elbv2.NewFromConfig(cfg), ecs.NewFromConfig(cfg)
	b.iam, b.logs, b.cd = iam.NewFromConfig(cfg), cloudwatchlogs.NewFromConfig(cfg), codedeploy.NewFromConfig(cfg)
	b.lambda, b.ecr = lambda.NewFromConfig(cfg), ecr.NewFromConfig(cfg)
	r := &b.env.Resources
	r.ContainerName, r.ContainerPort = opts.ContainerName, opts.ContainerPort
	steps := []struct {
		what string
		do   func(context.Context) error
	}{
		{"network", b.network},
		{"load balancer", b.loadBalancer},
		{"roles", b.roles},
		{"log group", b.logGroup},
		{"image", b.image},
		{"cluster and service", b.service},
		{"migration hook", b.migrateFunction},
		{"CodeDeploy", b.codeDeploy},
	}
	for _, s := range steps {
		if err := s.do(ctx); err != nil {
			return nil, fmt.Errorf("envfixture %s: %s: %w", opts.Name, s.what, err)
		}
	}
	return b.env, nil
}

type builder struct {
	opts   Options
	env    *Env
	ec2    *ec2.Client
	elb    *elbv2.Client
	ecs    *ecs.Client
	iam    *iam.Client
	logs   *cloudwatchlogs.Client
	cd     *codedeploy.Client
	lambda *lambda.Client
	ecr    *ecr.Client

	lbSG, executionRole, taskRole, codeDeployRole string
}

func (b *builder) network(ctx context.Context) error {
	vpc, err := b.ec2.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.0.0.0/16")})
	if err != nil {
		return err
	}
	vpcID := aws.ToString(vpc.Vpc.VpcId)
	b.env.VPC = vpcID
	// Fargate tasks need DNS hostnames in their VPC.
	if _, err := b.ec2.ModifyVpcAttribute(ctx, &ec2.ModifyVpcAttributeInput{VpcId: aws.String(vpcID), EnableDnsHostnames: &ec2types.AttributeBooleanValue{Value: aws.Bool(true)}}); err != nil {
		return err
	}
	for i, az := range []string{"a", "b"} {
		sn, err := b.ec2.CreateSubnet(ctx, &ec2.CreateSubnetInput{
			VpcId: aws.String(vpcID), CidrBlock: aws.String(fmt.Sprintf("10.0.%d.0/24", i+1)),
			AvailabilityZone: aws.String(b.env.AWS.Region + az),
		})
		if err != nil {
			return err
		}
		b.env.Resources.TaskSubnets = append(b.env.Resources.TaskSubnets, aws.ToString(sn.Subnet.SubnetId))
	}
	for _, sg := range []struct {
		name string
		dst  *string
	}{{"lb", &b.lbSG}, {"tasks", nil}} {
		out, err := b.ec2.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{
			GroupName: aws.String(b.opts.Name + "-" + sg.name), Description: aws.String(sg.name + " of " + b.opts.Name), VpcId: aws.String(vpcID),
		})
		if err != nil {
			return err
		}
		if sg.dst != nil {
			*sg.dst = aws.ToString(out.GroupId)
		} else {
			b.env.Resources.TaskSecurityGroups = []string{aws.ToString(out.GroupId)}
		}
	}
	return nil
}

func (b *builder) loadBalancer(ctx context.Context) error {
	r := &b.env.Resources
	lb, err := b.elb.CreateLoadBalancer(ctx, &elbv2.CreateLoadBalancerInput{
		Name: aws.String(b.opts.Name), Subnets: r.TaskSubnets, SecurityGroups: []string{b.lbSG},
		Type: elbtypes.LoadBalancerTypeEnumApplication, Scheme: elbtypes.LoadBalancerSchemeEnumInternetFacing,
	})
	if err != nil {
		return err
	}
	lbARN := aws.ToString(lb.LoadBalancers[0].LoadBalancerArn)
	r.APIURL = "http://" + aws.ToString(lb.LoadBalancers[0].DNSName)
	for _, tg := range []struct {
		color string
		dst   *string
	}{{"blue", &r.TargetGroupBlue}, {"green", &r.TargetGroupGreen}} {
		out, err := b.elb.CreateTargetGroup(ctx, &elbv2.CreateTargetGroupInput{
			Name: aws.String(b.opts.Name + "-" + tg.color), Protocol: elbtypes.ProtocolEnumHttp, Port: aws.Int32(b.opts.ContainerPort),
			VpcId: aws.String(b.env.VPC), TargetType: elbtypes.TargetTypeEnumIp,
			// /status/ answers 503 until migrations ran, so new tasks take no traffic before.
			HealthCheckPath: aws.String("/status/"), Matcher: &elbtypes.Matcher{HttpCode: aws.String("200")},
		})
		if err != nil {
			return err
		}
		*tg.dst = aws.ToString(out.TargetGroups[0].TargetGroupArn)
	}
	for _, l := range []struct {
		port int32
		tg   string
		dst  *string
	}{{b.opts.ProdPort, r.TargetGroupBlue, &r.ProdListenerARN}, {b.opts.TestPort, r.TargetGroupGreen, &r.TestListenerARN}} {
		out, err := b.elb.CreateListener(ctx, &elbv2.CreateListenerInput{
			LoadBalancerArn: aws.String(lbARN), Protocol: elbtypes.ProtocolEnumHttp, Port: aws.Int32(l.port),
			DefaultActions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: aws.String(l.tg)}},
		})
		if err != nil {
			return err
		}
		*l.dst = aws.ToString(out.Listeners[0].ListenerArn)
	}
	return nil
}

// roles are AdministratorAccess roles: the fixture tests rollouts, not IAM (the
// rehearsal runs on infra/'s least-privilege roles).
func (b *builder) roles(ctx context.Context) error {
	for _, role := range []struct {
		suffix, principal string
		dst               *string
	}{
		{"execution", "ecs-tasks.amazonaws.com", &b.executionRole},
		{"task", "ecs-tasks.amazonaws.com", &b.taskRole},
		{"codedeploy", "codedeploy.amazonaws.com", &b.codeDeployRole},
		{"lambda", "lambda.amazonaws.com", &b.env.LambdaRole},
	} {
		arn, err := awsemu.CreateAdminRole(ctx, b.env.AWS, b.opts.Name+"-"+role.suffix, role.principal)
		if err != nil {
			return err
		}
		*role.dst = arn
	}
	return nil
}

func (b *builder) logGroup(ctx context.Context) error {
	b.env.Resources.LogGroup = "/ecs/" + b.opts.Name + "-api"
	_, err := b.logs.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(b.env.Resources.LogGroup)})
	return err
}

func (b *builder) image(ctx context.Context) error {
	repo, err := b.ecr.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String(b.env.Repository)})
	if err != nil {
		return err
	}
	b.env.Resources.ECRRepositoryURL = aws.ToString(repo.Repository.RepositoryUri)
	if b.opts.InitialImage != "" {
		b.env.InitialImage = b.opts.InitialImage
		return nil
	}
	ref, err := b.env.PushImage(ctx, "initial")
	b.env.InitialImage = ref
	return err
}

func (b *builder) service(ctx context.Context) error {
	r := &b.env.Resources
	r.Cluster, r.Service, r.TaskFamily = b.opts.Name, b.opts.Name+"-api", b.opts.Name+"-api"
	if _, err := b.ecs.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String(r.Cluster)}); err != nil {
		return err
	}
	td, err := b.ecs.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		Family: aws.String(r.TaskFamily), NetworkMode: ecstypes.NetworkModeAwsvpc,
		RequiresCompatibilities: []ecstypes.Compatibility{ecstypes.CompatibilityFargate},
		Cpu:                     aws.String("256"), Memory: aws.String("512"),
		ExecutionRoleArn: aws.String(b.executionRole), TaskRoleArn: aws.String(b.taskRole),
		ContainerDefinitions: []ecstypes.ContainerDefinition{{
			Name: aws.String(r.ContainerName), Image: aws.String(b.env.InitialImage), Essential: aws.Bool(true),
			// Container-level memory: the emulation's RunTask needs it (AWS does not).
			Memory:       aws.Int32(512),
			Command:      []string{"server"},
			PortMappings: []ecstypes.PortMapping{{ContainerPort: aws.Int32(r.ContainerPort), Protocol: ecstypes.TransportProtocolTcp}},
			Environment:  b.opts.Environment,
			Secrets:      b.opts.Secrets,
			LogConfiguration: &ecstypes.LogConfiguration{LogDriver: ecstypes.LogDriverAwslogs, Options: map[string]string{
				"awslogs-group": r.LogGroup, "awslogs-region": b.env.AWS.Region, "awslogs-stream-prefix": r.ContainerName,
			}},
		}},
		Tags: []ecstypes.Tag{{Key: aws.String("app"), Value: aws.String("km-api")}, {Key: aws.String("env"), Value: aws.String(b.opts.Name)}},
	})
	if err != nil {
		return err
	}
	b.env.InitialTaskDefinition = aws.ToString(td.TaskDefinition.TaskDefinitionArn)
	// What infra/ outputs as task_definition_arn: the revision rollouts derive from.
	r.TaskDefinition = b.env.InitialTaskDefinition
	_, err = b.ecs.CreateService(ctx, &ecs.CreateServiceInput{
		Cluster: aws.String(r.Cluster), ServiceName: aws.String(r.Service), TaskDefinition: aws.String(b.env.InitialTaskDefinition),
		DesiredCount: aws.Int32(b.opts.DesiredCount), LaunchType: ecstypes.LaunchTypeFargate,
		DeploymentController: &ecstypes.DeploymentController{Type: ecstypes.DeploymentControllerTypeCodeDeploy},
		LoadBalancers:        []ecstypes.LoadBalancer{{TargetGroupArn: aws.String(r.TargetGroupBlue), ContainerName: aws.String(r.ContainerName), ContainerPort: aws.Int32(r.ContainerPort)}},
		NetworkConfiguration: &ecstypes.NetworkConfiguration{AwsvpcConfiguration: &ecstypes.AwsVpcConfiguration{
			Subnets: r.TaskSubnets, SecurityGroups: r.TaskSecurityGroups, AssignPublicIp: ecstypes.AssignPublicIpDisabled,
		}},
	})
	return err
}

func (b *builder) migrateFunction(ctx context.Context) error {
	if b.opts.NoMigrateHook {
		return nil
	}
	r := &b.env.Resources
	r.MigrateFunction, r.MigrationHookEvent = b.opts.Name+"-migrate", b.opts.HookEvent
	_, err := b.lambda.CreateFunction(ctx, &lambda.CreateFunctionInput{
		FunctionName: aws.String(r.MigrateFunction), Role: aws.String(b.env.LambdaRole),
		Runtime: lambdatypes.RuntimeProvidedal2023, Handler: aws.String("bootstrap"),
		Architectures: []lambdatypes.Architecture{lambdatypes.ArchitectureArm64},
		Code:          &lambdatypes.FunctionCode{ZipFile: awsemu.PlaceholderZip()}, Timeout: aws.Int32(900),
		Environment: &lambdatypes.Environment{Variables: MigrateEnv(r)},
	})
	if err != nil {
		return err
	}
	b.env.Emu.RegisterLambda(r.MigrateFunction, MigrateHook)
	return nil
}

func (b *builder) codeDeploy(ctx context.Context) error {
	r := &b.env.Resources
	r.CodeDeployApp, r.CodeDeployGroup = b.opts.Name+"-api", b.opts.Name+"-api"
	if _, err := b.cd.CreateApplication(ctx, &codedeploy.CreateApplicationInput{
		ApplicationName: aws.String(r.CodeDeployApp), ComputePlatform: cdtypes.ComputePlatformEcs,
	}); err != nil {
		return err
	}
	_, err := b.cd.CreateDeploymentGroup(ctx, &codedeploy.CreateDeploymentGroupInput{
		ApplicationName: aws.String(r.CodeDeployApp), DeploymentGroupName: aws.String(r.CodeDeployGroup),
		ServiceRoleArn: aws.String(b.codeDeployRole), DeploymentConfigName: aws.String("CodeDeployDefault.ECSAllAtOnce"),
		DeploymentStyle: &cdtypes.DeploymentStyle{
			DeploymentType: cdtypes.DeploymentTypeBlueGreen, DeploymentOption: cdtypes.DeploymentOptionWithTrafficControl,
		},
		BlueGreenDeploymentConfiguration: &cdtypes.BlueGreenDeploymentConfiguration{
			DeploymentReadyOption: &cdtypes.DeploymentReadyOption{ActionOnTimeout: cdtypes.DeploymentReadyActionContinueDeployment},
			TerminateBlueInstancesOnDeploymentSuccess: &cdtypes.BlueInstanceTerminationOption{
				Action: cdtypes.InstanceActionTerminate, TerminationWaitTimeInMinutes: 0,
			},
		},
		AutoRollbackConfiguration: &cdtypes.AutoRollbackConfiguration{
			Enabled: true,
			Events:  []cdtypes.AutoRollbackEvent{cdtypes.AutoRollbackEventDeploymentFailure, cdtypes.AutoRollbackEventDeploymentStopOnRequest},
		},
		EcsServices: []cdtypes.ECSService{{ClusterName: aws.String(r.Cluster), ServiceName: aws.String(r.Service)}},
		LoadBalancerInfo: &cdtypes.LoadBalancerInfo{TargetGroupPairInfoList: []cdtypes.TargetGroupPairInfo{{
			TargetGroups:     []cdtypes.TargetGroupInfo{{Name: aws.String(b.opts.Name + "-blue")}, {Name: aws.String(b.opts.Name + "-green")}},
			ProdTrafficRoute: &cdtypes.TrafficRoute{ListenerArns: []string{r.ProdListenerARN}},
			TestTrafficRoute: &cdtypes.TrafficRoute{ListenerArns: []string{r.TestListenerARN}},
		}}},
	})
	return err
}

// ProdTargetGroup returns the ARN of the target group the production listener
// forwards to: blue before the first deployment, the other after each success.
func (e *Env) ProdTargetGroup(ctx context.Context) (string, error) {
	return ProdTargetGroup(ctx, elbv2.NewFromConfig(e.AWS), e.Resources.ProdListenerARN)
}

// ProdTargetGroup returns the target group a listener forwards (most of) its traffic to.
func ProdTargetGroup(ctx context.Context, elb *elbv2.Client, listener string) (string, error) {
	out, err := elb.DescribeListeners(ctx, &elbv2.DescribeListenersInput{ListenerArns: []string{listener}})
	if err != nil {
		return "", err
	}
	for _, l := range out.Listeners {
		for _, a := range l.DefaultActions {
			if a.TargetGroupArn != nil {
				return aws.ToString(a.TargetGroupArn), nil
			}
			if a.ForwardConfig != nil {
				best, weight := "", int32(-1)
				for _, tg := range a.ForwardConfig.TargetGroups {
					if aws.ToInt32(tg.Weight) > weight {
						best, weight = aws.ToString(tg.TargetGroupArn), aws.ToInt32(tg.Weight)
					}
				}
				return best, nil
			}
		}
	}
	return "", fmt.Errorf("listener %s forwards nowhere", listener)
}

// ServiceTaskDefinition returns the task definition ARN the service runs: its
// PRIMARY task set's, else the service's.
func (e *Env) ServiceTaskDefinition(ctx context.Context) (string, error) {
	out, err := ecs.NewFromConfig(e.AWS).DescribeServices(ctx, &ecs.DescribeServicesInput{
		Cluster: aws.String(e.Resources.Cluster), Services: []string{e.Resources.Service},
	})
	if err != nil {
		return "", err
	}
	if len(out.Services) == 0 {
		return "", fmt.Errorf("service %s not found", e.Resources.Service)
	}
	for _, ts := range out.Services[0].TaskSets {
		if aws.ToString(ts.Status) == "PRIMARY" {
			return aws.ToString(ts.TaskDefinition), nil
		}
	}
	return aws.ToString(out.Services[0].TaskDefinition), nil
}

// TaskDefinitionCount is how many revisions the environment's family has, so a test
// can tell that nothing was registered.
func (e *Env) TaskDefinitionCount(ctx context.Context) (int, error) {
	out, err := ecs.NewFromConfig(e.AWS).ListTaskDefinitions(ctx, &ecs.ListTaskDefinitionsInput{FamilyPrefix: aws.String(e.Resources.TaskFamily)})
	if err != nil {
		return 0, err
	}
	return len(out.TaskDefinitionArns), nil
}

// Timeout is a generous bound for building an environment.
const Timeout = 2 * time.Minute
