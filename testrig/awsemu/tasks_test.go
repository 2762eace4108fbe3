package awsemu_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/aws/smithy-go"

	"github.com/knowmetools/km-release/testrig/awsemu"
	"github.com/knowmetools/km-release/testrig/awsemu/emutest"
)

// fargateFixture registers a cluster, a log group, an SSM secret and a Fargate task
// definition whose container "app" logs with awslogs and reads the secret.
type fargateFixture struct {
	name, cluster, td, logGroup string
	ecs                         *ecs.Client
	network                     *ecstypes.NetworkConfiguration
}

func newFargateFixture(t *testing.T, emu *awsemu.Emulator) *fargateFixture {
	t.Helper()
	ctx := t.Context()
	name := emutest.UniqueName(t)
	cfg := emu.AWSConfig()
	f := &fargateFixture{name: name, ecs: ecs.NewFromConfig(cfg), logGroup: "/ecs/" + name}
	ec2c := ec2.NewFromConfig(cfg)
	vpc, err := ec2c.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.0.0.0/16")})
	if err != nil {
		t.Fatalf("CreateVpc: %v", err)
	}
	sub, err := ec2c.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: vpc.Vpc.VpcId, CidrBlock: aws.String("10.0.1.0/24")})
	if err != nil {
		t.Fatalf("CreateSubnet: %v", err)
	}
	sg, err := ec2c.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{VpcId: vpc.Vpc.VpcId, GroupName: aws.String(name), Description: aws.String("tasks")})
	if err != nil {
		t.Fatalf("CreateSecurityGroup: %v", err)
	}
	f.network = &ecstypes.NetworkConfiguration{AwsvpcConfiguration: &ecstypes.AwsVpcConfiguration{
		Subnets: []string{aws.ToString(sub.Subnet.SubnetId)}, SecurityGroups: []string{aws.ToString(sg.GroupId)}}}
	cl, err := f.ecs.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String(name)})
	if err != nil {
		t.Fatalf("CreateCluster: %v", err)
	}
	f.cluster = aws.ToString(cl.Cluster.ClusterArn)
	if _, err := cloudwatchlogs.NewFromConfig(cfg).CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(f.logGroup)}); err != nil {
		t.Fatalf("CreateLogGroup: %v", err)
	}
	if _, err := ssm.NewFromConfig(cfg).PutParameter(ctx, &ssm.PutParameterInput{
		Name: aws.String("/" + name + "/db-password"), Value: aws.String("s3cret"), Type: ssmtypes.ParameterTypeSecureString,
	}); err != nil {
		t.Fatalf("PutParameter: %v", err)
	}
	td, err := f.ecs.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		Family:                  aws.String(name),
		NetworkMode:             ecstypes.NetworkModeAwsvpc,
		RequiresCompatibilities: []ecstypes.Compatibility{ecstypes.CompatibilityFargate},
		Cpu:                     aws.String("256"),
		Memory:                  aws.String("512"),
		ContainerDefinitions: []ecstypes.ContainerDefinition{{
			Name:        aws.String("app"),
			Image:       aws.String("example/api:1"),
			Essential:   aws.Bool(true),
			Command:     []string{"server"},
			Environment: []ecstypes.KeyValuePair{{Name: aws.String("MODE"), Value: aws.String("default")}},
			Secrets: []ecstypes.Secret{{Name: aws.String("DB_PASSWORD"),
				ValueFrom: aws.String("arn:aws:ssm:us-east-1:123456789012:parameter/" + name + "/db-password")}},
			LogConfiguration: &ecstypes.LogConfiguration{LogDriver: ecstypes.LogDriverAwslogs, Options: map[string]string{
				"awslogs-group": f.logGroup, "awslogs-region": "us-east-1", "awslogs-stream-prefix": "api",
			}},
		}},
	})
	if err != nil {
		t.Fatalf("RegisterTaskDefinition: %v", err)
	}
	f.td = aws.ToString(td.TaskDefinition.TaskDefinitionArn)
	return f
}

func (f *fargateFixture) run(t *testing.T, in *ecs.RunTaskInput) ecstypes.Task {
	t.Helper()
	if in == nil {
		in = &ecs.RunTaskInput{}
	}
	in.Cluster, in.TaskDefinition, in.LaunchType = aws.String(f.name), aws.String(f.td), ecstypes.LaunchTypeFargate
	if in.NetworkConfiguration == nil {
		in.NetworkConfiguration = f.network
	}
	out, err := f.ecs.RunTask(t.Context(), in)
	if err != nil {
		t.Fatalf("RunTask: %v", err)
	}
	if len(out.Tasks) != 1 {
		t.Fatalf("RunTask started %d tasks, failures %v", len(out.Tasks), out.Failures)
	}
	return out.Tasks[0]
}

func (f *fargateFixture) waitStopped(t *testing.T, taskARN string) ecstypes.Task {
	t.Helper()
	w := ecs.NewTasksStoppedWaiter(f.ecs, func(o *ecs.TasksStoppedWaiterOptions) {
		o.MinDelay, o.MaxDelay = 50*time.Millisecond, 100*time.Millisecond
	})
	out, err := w.WaitForOutput(t.Context(), &ecs.DescribeTasksInput{Cluster: aws.String(f.name), Tasks: []string{taskARN}}, 30*time.Second)
	if err != nil {
		t.Fatalf("wait for task to stop: %v", err)
	}
	return out.Tasks[0]
}

func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func TestRunTaskLifecycleAndLogs(t *testing.T) {
	emu := emutest.Start(t)
	f := newFargateFixture(t, emu)
	task := f.run(t, &ecs.RunTaskInput{
		StartedBy: aws.String("km-migrate"),
		Overrides: &ecstypes.TaskOverride{ContainerOverrides: []ecstypes.ContainerOverride{{
			Name: aws.String("app"), Command: []string{"migrate"},
			Environment: []ecstypes.KeyValuePair{{Name: aws.String("MODE"), Value: aws.String("override")}},
		}}},
	})
	if got := aws.ToString(task.LastStatus); got != "PROVISIONING" {
		t.Errorf("lastStatus after RunTask = %q, want PROVISIONING", got)
	}
	if !strings.Contains(aws.ToString(task.TaskArn), ":task/"+f.name+"/") {
		t.Errorf("taskArn %q is not in cluster %s", aws.ToString(task.TaskArn), f.name)
	}
	stopped := f.waitStopped(t, aws.ToString(task.TaskArn))
	if stopped.StopCode != ecstypes.TaskStopCodeEssentialContainerExited {
		t.Errorf("stopCode = %q", stopped.StopCode)
	}
	if c := stopped.Containers[0]; c.ExitCode == nil || *c.ExitCode != 0 {
		t.Errorf("exit code = %v, want 0", c.ExitCode)
	}
	if aws.ToString(stopped.StartedBy) != "km-migrate" || aws.ToString(stopped.TaskDefinitionArn) != f.td ||
		aws.ToString(stopped.ClusterArn) != f.cluster || aws.ToString(stopped.Cpu) != "256" {
		t.Errorf("task fields not kept: %+v", stopped)
	}
	if stopped.CreatedAt == nil || stopped.StartedAt == nil || stopped.StoppingAt == nil || stopped.StoppedAt == nil {
		t.Errorf("timestamps missing: created %v started %v stopping %v stopped %v", stopped.CreatedAt, stopped.StartedAt, stopped.StoppingAt, stopped.StoppedAt)
	}
	co := stopped.Overrides.ContainerOverrides
	if len(co) != 1 || co[0].Command[0] != "migrate" || aws.ToString(co[0].Environment[0].Value) != "override" {
		t.Errorf("overrides not kept: %+v", stopped.Overrides)
	}

	id := aws.ToString(task.TaskArn)[strings.LastIndexByte(aws.ToString(task.TaskArn), '/')+1:]
	ev, err := cloudwatchlogs.NewFromConfig(emu.AWSConfig()).GetLogEvents(t.Context(), &cloudwatchlogs.GetLogEventsInput{
		LogGroupName: aws.String(f.logGroup), LogStreamName: aws.String("api/app/" + id),
	})
	if err != nil {
		t.Fatalf("GetLogEvents api/app/%s: %v", id, err)
	}
	var lines []string
	for _, e := range ev.Events {
		lines = append(lines, aws.ToString(e.Message))
	}
	if len(lines) < 2 || !strings.Contains(lines[0], "migrate") {
		t.Errorf("task log lines = %q, want the started and exit lines", lines)
	}
}

// recordingRunner captures what the runner is given.
type recordingRunner struct{ got chan *awsemu.TaskRun }

func (r recordingRunner) Run(ctx context.Context, task *awsemu.TaskRun) awsemu.TaskOutcome {
	r.got <- task
	return awsemu.SimulatedRunner{}.Run(ctx, task)
}

func TestTaskRunnerGetsResolvedEnvironment(t *testing.T) {
	rec := recordingRunner{got: make(chan *awsemu.TaskRun, 1)}
	emu, err := awsemu.Start(t.Context(), awsemu.Options{TaskRunner: rec})
	if err != nil {
		t.Fatal(err)
	}
	defer emu.Close()
	f := newFargateFixture(t, emu)
	f.run(t, &ecs.RunTaskInput{Overrides: &ecstypes.TaskOverride{ContainerOverrides: []ecstypes.ContainerOverride{{
		Name: aws.String("app"), Command: []string{"migrate"},
		Environment: []ecstypes.KeyValuePair{{Name: aws.String("MODE"), Value: aws.String("override")}},
	}}}})
	select {
	case run := <-rec.got:
		c := run.Containers[0]
		if c.Environment["DB_PASSWORD"] != "s3cret" || c.Environment["MODE"] != "override" {
			t.Errorf("environment = %v, want secret resolved and override applied", c.Environment)
		}
		if strings.Join(c.Command, " ") != "migrate" || c.Image != "example/api:1" || !c.Essential {
			t.Errorf("container = %+v", c)
		}
		if aws.ToString(run.TaskDefinition.Family) != f.name {
			t.Errorf("task definition family = %q", aws.ToString(run.TaskDefinition.Family))
		}
	case <-time.After(20 * time.Second):
		t.Fatal("runner was not called")
	}

	// Reset empties moto and the emulation's own state.
	if err := emu.Reset(t.Context()); err != nil {
		t.Fatalf("Reset: %v", err)
	}
	if _, err := f.ecs.DescribeTasks(t.Context(), &ecs.DescribeTasksInput{Cluster: aws.String(f.name), Tasks: []string{"x"}}); apiCode(err) != "ClusterNotFoundException" {
		t.Errorf("DescribeTasks after Reset: %v, want ClusterNotFoundException", err)
	}
	list, err := f.ecs.ListClusters(t.Context(), &ecs.ListClustersInput{})
	if err != nil || len(list.ClusterArns) != 0 {
		t.Errorf("clusters after Reset: %v, %v", list, err)
	}
}

func TestRunTaskValidation(t *testing.T) {
	emu := emutest.Start(t)
	f := newFargateFixture(t, emu)
	ctx := t.Context()
	cases := []struct {
		name string
		in   ecs.RunTaskInput
		code string
	}{
		{"missing cluster", ecs.RunTaskInput{Cluster: aws.String("no-such-cluster"), TaskDefinition: aws.String(f.td), NetworkConfiguration: f.network}, "ClusterNotFoundException"},
		{"unknown task definition", ecs.RunTaskInput{Cluster: aws.String(f.name), TaskDefinition: aws.String("no-such-family:3"), NetworkConfiguration: f.network}, "ClientException"},
		{"unknown subnet", ecs.RunTaskInput{Cluster: aws.String(f.name), TaskDefinition: aws.String(f.td),
			NetworkConfiguration: &ecstypes.NetworkConfiguration{AwsvpcConfiguration: &ecstypes.AwsVpcConfiguration{Subnets: []string{"subnet-0badbadbadbadbad0"}}}}, "InvalidParameterException"},
		{"awsvpc without subnets", ecs.RunTaskInput{Cluster: aws.String(f.name), TaskDefinition: aws.String(f.td), LaunchType: ecstypes.LaunchTypeFargate}, "InvalidParameterException"},
	}
	for _, c := range cases {
		_, err := f.ecs.RunTask(ctx, &c.in)
		if got := apiCode(err); got != c.code {
			t.Errorf("%s: error %v, want %s", c.name, err, c.code)
		}
	}
}

func TestTaskFaults(t *testing.T) {
	emu := emutest.Start(t)
	f := newFargateFixture(t, emu)

	emu.Faults().NextTaskExit("app", 3, "migration failed")
	st := f.waitStopped(t, aws.ToString(f.run(t, nil).TaskArn))
	if c := st.Containers[0]; c.ExitCode == nil || *c.ExitCode != 3 || aws.ToString(c.Reason) != "migration failed" {
		t.Errorf("container = exit %v reason %q, want 3 / migration failed", c.ExitCode, aws.ToString(c.Reason))
	}

	emu.Faults().NextTaskFailsToStart("CannotPullContainerError: pull image manifest has been retried 5 time(s)")
	st = f.waitStopped(t, aws.ToString(f.run(t, nil).TaskArn))
	if st.StopCode != ecstypes.TaskStopCodeTaskFailedToStart || !strings.HasPrefix(aws.ToString(st.StoppedReason), "CannotPullContainerError") {
		t.Errorf("stopCode %q reason %q, want TaskFailedToStart", st.StopCode, aws.ToString(st.StoppedReason))
	}
	if st.Containers[0].ExitCode != nil {
		t.Errorf("a task that never started has exit code %d", *st.Containers[0].ExitCode)
	}
}

func TestStopTaskAndListTasks(t *testing.T) {
	emu := emutest.Start(t)
	f := newFargateFixture(t, emu)
	ctx := t.Context()
	emu.Faults().NextTaskRunsFor(time.Minute)
	arn := aws.ToString(f.run(t, &ecs.RunTaskInput{StartedBy: aws.String("jobs")}).TaskArn)

	running := ecs.NewTasksRunningWaiter(f.ecs, func(o *ecs.TasksRunningWaiterOptions) {
		o.MinDelay, o.MaxDelay = 50*time.Millisecond, 100*time.Millisecond
	})
	if err := running.Wait(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(f.name), Tasks: []string{arn}}, 30*time.Second); err != nil {
		t.Fatalf("wait running: %v", err)
	}
	list := func(in ecs.ListTasksInput) []string {
		in.Cluster = aws.String(f.name)
		out, err := f.ecs.ListTasks(ctx, &in)
		if err != nil {
			t.Fatalf("ListTasks: %v", err)
		}
		return out.TaskArns
	}
	if got := list(ecs.ListTasksInput{StartedBy: aws.String("jobs")}); len(got) != 1 || got[0] != arn {
		t.Errorf("ListTasks startedBy=jobs = %v, want [%s]", got, arn)
	}
	if got := list(ecs.ListTasksInput{Family: aws.String(f.name)}); len(got) != 1 {
		t.Errorf("ListTasks family = %v", got)
	}
	if got := list(ecs.ListTasksInput{StartedBy: aws.String("other")}); len(got) != 0 {
		t.Errorf("ListTasks startedBy=other = %v, want none", got)
	}

	if _, err := f.ecs.StopTask(ctx, &ecs.StopTaskInput{Cluster: aws.String(f.name), Task: aws.String(arn), Reason: aws.String("superseded")}); err != nil {
		t.Fatalf("StopTask: %v", err)
	}
	st := f.waitStopped(t, arn)
	if st.StopCode != ecstypes.TaskStopCodeUserInitiated || aws.ToString(st.StoppedReason) != "superseded" {
		t.Errorf("stopCode %q reason %q, want UserInitiated / superseded", st.StopCode, aws.ToString(st.StoppedReason))
	}
	if got := list(ecs.ListTasksInput{}); len(got) != 0 {
		t.Errorf("RUNNING tasks after stop = %v", got)
	}
	if got := list(ecs.ListTasksInput{DesiredStatus: ecstypes.DesiredStatusStopped}); len(got) != 1 {
		t.Errorf("STOPPED tasks = %v, want 1", got)
	}
	out, err := f.ecs.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(f.name), Tasks: []string{"0123456789abcdef0123456789abcdef"}})
	if err != nil || len(out.Failures) != 1 || aws.ToString(out.Failures[0].Reason) != "MISSING" {
		t.Errorf("DescribeTasks unknown = %+v, %v; want failure MISSING", out, err)
	}
}

func TestUpdateServiceOnCodeDeployService(t *testing.T) {
	emu := emutest.Start(t)
	f := newFargateFixture(t, emu)
	ctx := t.Context()
	_, err := f.ecs.CreateService(ctx, &ecs.CreateServiceInput{
		Cluster: aws.String(f.name), ServiceName: aws.String("api"), TaskDefinition: aws.String(f.td),
		DesiredCount: aws.Int32(1), LaunchType: ecstypes.LaunchTypeFargate,
		// No security groups: ECS takes the VPC's default (moto needs the emulation's help).
		NetworkConfiguration: &ecstypes.NetworkConfiguration{AwsvpcConfiguration: &ecstypes.AwsVpcConfiguration{Subnets: f.network.AwsvpcConfiguration.Subnets}},
		DeploymentController: &ecstypes.DeploymentController{Type: ecstypes.DeploymentControllerTypeCodeDeploy},
	})
	if err != nil {
		t.Fatalf("CreateService: %v", err)
	}
	td2, err := f.ecs.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		Family: aws.String(f.name), ContainerDefinitions: []ecstypes.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("example/api:2"), Memory: aws.Int32(512)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.ecs.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String(f.name), Service: aws.String("api"), TaskDefinition: td2.TaskDefinition.TaskDefinitionArn})
	if apiCode(err) != "InvalidParameterException" || !strings.Contains(err.Error(), "Use AWS CodeDeploy") {
		t.Fatalf("UpdateService with a new task definition: %v, want InvalidParameterException", err)
	}
	out, err := f.ecs.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String(f.name), Service: aws.String("api"), DesiredCount: aws.Int32(3)})
	if err != nil {
		t.Fatalf("UpdateService desiredCount: %v", err)
	}
	if out.Service.DesiredCount != 3 {
		t.Errorf("desiredCount = %d, want 3", out.Service.DesiredCount)
	}
}

func TestDescribeServicesCountsTheServicesTasks(t *testing.T) {
	emu := emutest.Start(t)
	f := newFargateFixture(t, emu)
	ctx := t.Context()
	if _, err := f.ecs.CreateService(ctx, &ecs.CreateServiceInput{
		Cluster: aws.String(f.name), ServiceName: aws.String("api"), TaskDefinition: aws.String(f.td),
		DesiredCount: aws.Int32(1), LaunchType: ecstypes.LaunchTypeFargate, NetworkConfiguration: f.network,
	}); err != nil {
		t.Fatalf("CreateService: %v", err)
	}
	counts := func() (int32, int32) {
		out, err := f.ecs.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(f.name), Services: []string{"api"}})
		if err != nil || len(out.Services) != 1 {
			t.Fatalf("DescribeServices: %v, %+v", err, out)
		}
		return out.Services[0].RunningCount, out.Services[0].PendingCount
	}
	emu.Faults().NextTaskRunsFor(time.Minute)
	emu.Faults().NextTaskRunsFor(time.Minute)
	arn := aws.ToString(f.run(t, &ecs.RunTaskInput{Group: aws.String("service:api")}).TaskArn)
	f.run(t, &ecs.RunTaskInput{Group: aws.String("service:other")}) // another service's task
	running := ecs.NewTasksRunningWaiter(f.ecs, func(o *ecs.TasksRunningWaiterOptions) {
		o.MinDelay, o.MaxDelay = 50*time.Millisecond, 100*time.Millisecond
	})
	if err := running.Wait(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(f.name), Tasks: []string{arn}}, 30*time.Second); err != nil {
		t.Fatalf("wait running: %v", err)
	}
	if r, p := counts(); r != 1 || p != 0 {
		t.Errorf("running %d pending %d while the service's task runs, want 1 and 0", r, p)
	}
	if _, err := f.ecs.StopTask(ctx, &ecs.StopTaskInput{Cluster: aws.String(f.name), Task: aws.String(arn)}); err != nil {
		t.Fatalf("StopTask: %v", err)
	}
	f.waitStopped(t, arn)
	if r, _ := counts(); r != 0 {
		t.Errorf("running %d after its task stopped, want 0", r)
	}
}
