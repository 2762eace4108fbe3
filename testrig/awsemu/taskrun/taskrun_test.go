package taskrun_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/knowmetools/km-release/internal/rollout"
	"github.com/knowmetools/km-release/testrig/awsemu"
	"github.com/knowmetools/km-release/testrig/awsemu/codedeploy"
	"github.com/knowmetools/km-release/testrig/awsemu/emutest"
	"github.com/knowmetools/km-release/testrig/awsemu/taskrun"
	"github.com/knowmetools/km-release/testrig/envfixture"
	"github.com/knowmetools/km-release/testrig/ociimage"
)

var (
	runner   *taskrun.Runner
	services *taskrun.Services

	emuOnce sync.Once
	emu     *awsemu.Emulator
	emuErr  error
)

// TestMain runs the tests against one emulation whose tasks run for real. It is not
// emutest's shared emulator: the runner's unpacked images must be removed after the
// emulation stops, which emutest.Main's exit would skip.
func TestMain(m *testing.M) {
	var err error
	if runner, err = taskrun.New(taskrun.Options{StopTimeout: time.Second}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	services = taskrun.NewServices(taskrun.ServicesOptions{HealthTimeout: 3 * time.Second, HealthInterval: 50 * time.Millisecond, ReconcileInterval: 50 * time.Millisecond})
	code := m.Run()
	services.Close()
	if emu != nil {
		emu.Close()
	}
	runner.Close()
	if progBin != "" {
		os.RemoveAll(filepath.Dir(progBin))
	}
	os.Exit(code)
}

func startEmulator(t *testing.T) *awsemu.Emulator {
	t.Helper()
	emuOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		emu, emuErr = awsemu.Start(ctx, awsemu.Options{TaskRunner: runner, Install: services.Install})
		if emuErr == nil {
			services.Connect(emu.AWSConfig())
		}
	})
	if emuErr != nil {
		t.Fatalf("start the AWS emulation: %v", emuErr)
	}
	return emu
}

// fixture is a cluster with one image of taskprog, a task definition and a network.
type fixture struct {
	emu     *awsemu.Emulator
	ecs     *ecs.Client
	cluster string
	td      string
	subnets []string
	vpc     string
	logs    string
	image   string
}

var (
	progOnce sync.Once
	progBin  string
	progErr  error
)

// program builds taskprog once per test binary.
func program(t *testing.T) string {
	t.Helper()
	progOnce.Do(func() {
		dir, err := os.MkdirTemp("", "taskprog-")
		if err != nil {
			progErr = err
			return
		}
		progBin = filepath.Join(dir, "taskprog")
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		progErr = ociimage.GoBuild{Package: "./testdata/taskprog", Version: "test", Output: progBin}.Run(ctx)
	})
	if progErr != nil {
		t.Fatal(progErr)
	}
	return progBin
}

func setup(t *testing.T, env map[string]string, secrets map[string]string) *fixture {
	t.Helper()
	emu := startEmulator(t)
	ctx := context.Background()
	cfg := emu.AWSConfig()
	name := emutest.UniqueName(t)
	f := &fixture{emu: emu, ecs: ecs.NewFromConfig(cfg), cluster: name, logs: "/ecs/" + name}

	repo, err := ecr.NewFromConfig(cfg).CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	img, err := ociimage.Build(ociimage.Spec{Binary: program(t), Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if f.image, err = ociimage.Push(ctx, img, aws.ToString(repo.Repository.RepositoryUri), "test", true, nil); err != nil {
		t.Fatal(err)
	}

	vpc, err := ec2.NewFromConfig(cfg).CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.1.0.0/16")})
	if err != nil {
		t.Fatal(err)
	}
	f.vpc = aws.ToString(vpc.Vpc.VpcId)
	sn, err := ec2.NewFromConfig(cfg).CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: vpc.Vpc.VpcId, CidrBlock: aws.String("10.1.1.0/24")})
	if err != nil {
		t.Fatal(err)
	}
	f.subnets = []string{aws.ToString(sn.Subnet.SubnetId)}
	if _, err := f.ecs.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String(name)}); err != nil {
		t.Fatal(err)
	}
	if _, err := cloudwatchlogs.NewFromConfig(cfg).CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(f.logs)}); err != nil {
		t.Fatal(err)
	}
	var kvs []ecstypes.KeyValuePair
	for k, v := range env {
		kvs = append(kvs, ecstypes.KeyValuePair{Name: aws.String(k), Value: aws.String(v)})
	}
	var secs []ecstypes.Secret
	for k, v := range secrets {
		param := "/" + name + "/" + k
		if _, err := ssm.NewFromConfig(cfg).PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String(param), Value: aws.String(v), Type: ssmtypes.ParameterTypeSecureString}); err != nil {
			t.Fatal(err)
		}
		secs = append(secs, ecstypes.Secret{Name: aws.String(k), ValueFrom: aws.String(param)})
	}
	td, err := f.ecs.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		Family: aws.String(name), NetworkMode: ecstypes.NetworkModeAwsvpc, RequiresCompatibilities: []ecstypes.Compatibility{ecstypes.CompatibilityFargate},
		Cpu: aws.String("256"), Memory: aws.String("512"),
		ContainerDefinitions: []ecstypes.ContainerDefinition{{
			Name: aws.String("app"), Image: aws.String(f.image), Essential: aws.Bool(true), Memory: aws.Int32(512),
			PortMappings: []ecstypes.PortMapping{{ContainerPort: aws.Int32(8000)}},
			Environment:  kvs, Secrets: secs,
			LogConfiguration: &ecstypes.LogConfiguration{LogDriver: ecstypes.LogDriverAwslogs, Options: map[string]string{
				"awslogs-group": f.logs, "awslogs-region": awsemu.DefaultRegion, "awslogs-stream-prefix": "app",
			}},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	f.td = aws.ToString(td.TaskDefinition.TaskDefinitionArn)
	return f
}

func (f *fixture) run(t *testing.T, image string, command ...string) string {
	t.Helper()
	td := f.td
	if image != "" {
		out, err := f.ecs.DescribeTaskDefinition(context.Background(), &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(f.td)})
		if err != nil {
			t.Fatal(err)
		}
		defs := out.TaskDefinition.ContainerDefinitions
		defs[0].Image = aws.String(image)
		reg, err := f.ecs.RegisterTaskDefinition(context.Background(), &ecs.RegisterTaskDefinitionInput{
			Family: out.TaskDefinition.Family, ContainerDefinitions: defs, NetworkMode: out.TaskDefinition.NetworkMode,
			RequiresCompatibilities: out.TaskDefinition.RequiresCompatibilities, Cpu: out.TaskDefinition.Cpu, Memory: out.TaskDefinition.Memory,
		})
		if err != nil {
			t.Fatal(err)
		}
		td = aws.ToString(reg.TaskDefinition.TaskDefinitionArn)
	}
	out, err := f.ecs.RunTask(context.Background(), &ecs.RunTaskInput{
		Cluster: aws.String(f.cluster), TaskDefinition: aws.String(td), LaunchType: ecstypes.LaunchTypeFargate,
		NetworkConfiguration: &ecstypes.NetworkConfiguration{AwsvpcConfiguration: &ecstypes.AwsVpcConfiguration{Subnets: f.subnets}},
		Overrides:            &ecstypes.TaskOverride{ContainerOverrides: []ecstypes.ContainerOverride{{Name: aws.String("app"), Command: command}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.Tasks[0].TaskArn)
}

// waitStopped polls until the task is STOPPED.
func (f *fixture) waitStopped(t *testing.T, arn string) ecstypes.Task {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		out, err := f.ecs.DescribeTasks(context.Background(), &ecs.DescribeTasksInput{Cluster: aws.String(f.cluster), Tasks: []string{arn}})
		if err != nil {
			t.Fatal(err)
		}
		if task := out.Tasks[0]; aws.ToString(task.LastStatus) == "STOPPED" {
			return task
		}
		if time.Now().After(deadline) {
			t.Fatalf("task %s did not stop", arn)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func exitCode(t *testing.T, task ecstypes.Task) int32 {
	t.Helper()
	if len(task.Containers) != 1 || task.Containers[0].ExitCode == nil {
		t.Fatalf("task has no container exit code (stop code %s: %s)", task.StopCode, aws.ToString(task.StoppedReason))
	}
	return *task.Containers[0].ExitCode
}

func TestRunsImageWithEnvironmentSecretsAndExitCode(t *testing.T) {
	f := setup(t, map[string]string{"GREETING": "rehearsal", "EXIT_CODE": "3"}, map[string]string{"SECRET": "s3cr3t"})
	task := f.waitStopped(t, f.run(t, "", "exit"))
	if got := exitCode(t, task); got != 3 {
		t.Errorf("exit code %d, want the program's 3", got)
	}
	id := aws.ToString(task.TaskArn)[strings.LastIndexByte(aws.ToString(task.TaskArn), '/')+1:]
	ev, err := cloudwatchlogs.NewFromConfig(f.emu.AWSConfig()).GetLogEvents(context.Background(), &cloudwatchlogs.GetLogEventsInput{
		LogGroupName: aws.String(f.logs), LogStreamName: aws.String("app/app/" + id),
	})
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, e := range ev.Events {
		lines = append(lines, aws.ToString(e.Message))
	}
	want := "hello rehearsal from "
	if len(lines) != 1 || !strings.HasPrefix(lines[0], want) || !strings.HasSuffix(lines[0], "/app, secret set: true") {
		t.Errorf("log lines %q, want one %q...'/app, secret set: true' (environment, resolved secret, image working dir)", lines, want)
	}
}

func TestStopTaskTerminatesProcess(t *testing.T) {
	f := setup(t, nil, nil)
	arn := f.run(t, "", "sleep")
	deadline := time.Now().Add(20 * time.Second)
	for {
		out, _ := f.ecs.DescribeTasks(context.Background(), &ecs.DescribeTasksInput{Cluster: aws.String(f.cluster), Tasks: []string{arn}})
		if len(out.Tasks) == 1 && aws.ToString(out.Tasks[0].LastStatus) == "RUNNING" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("task never RUNNING")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := f.ecs.StopTask(context.Background(), &ecs.StopTaskInput{Cluster: aws.String(f.cluster), Task: aws.String(arn)}); err != nil {
		t.Fatal(err)
	}
	if got := exitCode(t, f.waitStopped(t, arn)); got != 143 {
		t.Errorf("exit code %d after StopTask, want 143 (SIGTERM)", got)
	}
}

func TestUnpullableImageFailsToStart(t *testing.T) {
	f := setup(t, nil, nil)
	missing := f.image[:strings.IndexByte(f.image, '@')] + ":does-not-exist"
	task := f.waitStopped(t, f.run(t, missing, "exit"))
	if task.StopCode != ecstypes.TaskStopCodeTaskFailedToStart || !strings.Contains(aws.ToString(task.StoppedReason), "CannotPullContainerError") {
		t.Errorf("stop code %s reason %q, want TaskFailedToStart with CannotPullContainerError", task.StopCode, aws.ToString(task.StoppedReason))
	}
}

// targetGroup creates an ip target group in the fixture's VPC.
func (f *fixture) targetGroup(t *testing.T) string {
	t.Helper()
	out, err := elbv2.NewFromConfig(f.emu.AWSConfig()).CreateTargetGroup(context.Background(), &elbv2.CreateTargetGroupInput{
		Name: aws.String(f.cluster[max(0, len(f.cluster)-32):]), Protocol: elbtypes.ProtocolEnumHttp, Port: aws.Int32(8000),
		VpcId: aws.String(f.vpc), TargetType: elbtypes.TargetTypeEnumIp, HealthCheckPath: aws.String("/status/"),
	})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.TargetGroups[0].TargetGroupArn)
}

func (f *fixture) install(t *testing.T, tg string) codedeploy.InstallRequest {
	t.Helper()
	return codedeploy.InstallRequest{
		Cluster: f.cluster, Service: "api", TaskDefinition: f.td, TaskSetArn: "arn:aws:ecs:us-east-1:123456789012:task-set/" + f.cluster + "/api/ecs-svc/1",
		ContainerName: "app", ContainerPort: 8000, LaunchType: "FARGATE", TargetGroupArn: tg, DesiredCount: 1, Subnets: f.subnets,
	}
}

func registered(t *testing.T, f *fixture, tg string) int {
	t.Helper()
	th, err := elbv2.NewFromConfig(f.emu.AWSConfig()).DescribeTargetHealth(context.Background(), &elbv2.DescribeTargetHealthInput{TargetGroupArn: aws.String(tg)})
	if err != nil {
		t.Fatal(err)
	}
	return len(th.TargetHealthDescriptions)
}

func TestInstallWaitsForHealthyTarget(t *testing.T) {
	f := setup(t, map[string]string{"STATUS_CODE": "200"}, nil)
	tg := f.targetGroup(t)
	// The service command comes from the task definition; this one has none, so set it.
	req := f.install(t, tg)
	req.TaskDefinition = f.withCommand(t, "serve")
	if err := services.Install(context.Background(), req); err != nil {
		t.Fatalf("Install of a healthy replacement: %v", err)
	}
	if n := registered(t, f, tg); n != 1 {
		t.Errorf("%d targets registered, want 1", n)
	}
	// The task set does not exist in the service, as after CodeDeploy deleted it: the
	// task is stopped and its target deregistered.
	deadline := time.Now().Add(10 * time.Second)
	for registered(t, f, tg) != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the target of a deleted task set stays registered")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// moto keeps one target per Id in a group: every task of a set must stay registered.
func TestInstallRegistersEveryTaskOfTheSet(t *testing.T) {
	f := setup(t, map[string]string{"STATUS_CODE": "200"}, nil)
	tg := f.targetGroup(t)
	req := f.install(t, tg)
	req.TaskDefinition = f.withCommand(t, "serve")
	req.DesiredCount = 2
	if err := services.Install(context.Background(), req); err != nil {
		t.Fatalf("Install of two healthy tasks: %v", err)
	}
	th, err := elbv2.NewFromConfig(f.emu.AWSConfig()).DescribeTargetHealth(context.Background(), &elbv2.DescribeTargetHealthInput{TargetGroupArn: aws.String(tg)})
	if err != nil {
		t.Fatal(err)
	}
	if len(th.TargetHealthDescriptions) != 2 {
		t.Fatalf("%d targets registered for 2 tasks, want 2", len(th.TargetHealthDescriptions))
	}
	for _, d := range th.TargetHealthDescriptions {
		if d.TargetHealth.State != elbtypes.TargetHealthStateEnumHealthy {
			t.Errorf("target %s:%d is %s (%s), want healthy", aws.ToString(d.Target.Id), aws.ToInt32(d.Target.Port), d.TargetHealth.State, aws.ToString(d.TargetHealth.Description))
		}
	}
}

func TestInstallFailsForUnhealthyReplacement(t *testing.T) {
	f := setup(t, map[string]string{"STATUS_CODE": "503"}, nil)
	tg := f.targetGroup(t)
	req := f.install(t, tg)
	req.TaskDefinition = f.withCommand(t, "serve")
	err := services.Install(context.Background(), req)
	if err == nil || !strings.Contains(err.Error(), "never turned healthy") || !strings.Contains(err.Error(), "HTTP 503") {
		t.Fatalf("Install of a replacement answering 503: error %v, want one saying it never turned healthy (HTTP 503)", err)
	}
	if n := registered(t, f, tg); n != 0 {
		t.Errorf("%d targets of the failed replacement stay registered", n)
	}
}

// withCommand registers a revision whose container runs command.
func (f *fixture) withCommand(t *testing.T, command ...string) string {
	t.Helper()
	out, err := f.ecs.DescribeTaskDefinition(context.Background(), &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(f.td)})
	if err != nil {
		t.Fatal(err)
	}
	td := out.TaskDefinition
	defs := td.ContainerDefinitions
	defs[0].Command = command
	reg, err := f.ecs.RegisterTaskDefinition(context.Background(), &ecs.RegisterTaskDefinitionInput{
		Family: td.Family, ContainerDefinitions: defs, NetworkMode: td.NetworkMode,
		RequiresCompatibilities: td.RequiresCompatibilities, Cpu: td.Cpu, Memory: td.Memory,
	})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(reg.TaskDefinition.TaskDefinitionArn)
}

// TestUnhealthyReplacementNeverTakesTraffic runs a whole blue/green rollout (the
// product's rollout code, the CodeDeploy emulation, this package's Install) of an image
// whose /status/ never answers 200: the deployment fails, production traffic stays on
// the original target group and the replacement task is stopped.
func TestUnhealthyReplacementNeverTakesTraffic(t *testing.T) {
	f := setup(t, nil, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	env, err := envfixture.New(ctx, f.emu, envfixture.Options{Name: "unhealthy" + f.cluster[strings.LastIndexByte(f.cluster, '-'):], NoMigrateHook: true, InitialImage: f.image})
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	d := &rollout.Deployer{Clients: rollout.NewClients(f.emu.AWSConfig()), Resources: &env.Resources, Out: &out}
	_, err = d.Rollout(ctx, rollout.Options{Image: f.image, Timeout: time.Minute})
	if err == nil {
		t.Fatalf("the rollout of a never-healthy image succeeded:\n%s", out.String())
	}
	if !strings.Contains(out.String()+err.Error(), "never turned healthy") {
		t.Errorf("the rollout's failure does not say the replacement never turned healthy: %v\n%s", err, out.String())
	}
	if tg, err := env.ProdTargetGroup(ctx); err != nil || tg != env.Resources.TargetGroupBlue {
		t.Errorf("production traffic is on %s (%v), want the original %s", tg, err, env.Resources.TargetGroupBlue)
	}
	if n := registered(t, f, env.Resources.TargetGroupGreen); n != 0 {
		t.Errorf("%d targets of the failed replacement stay registered", n)
	}
	tasks, err := f.ecs.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String(env.Resources.Cluster), DesiredStatus: ecstypes.DesiredStatusRunning})
	if err != nil {
		t.Fatal(err)
	}
	if len(tasks.TaskArns) != 0 {
		t.Errorf("tasks still run after the failed deployment: %v", tasks.TaskArns)
	}
}
