package jobrun_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/sethvargo/go-envconfig"

	"github.com/knowmetools/km-release/internal/ecstask"
	"github.com/knowmetools/km-release/lambdas/internal/lambdaenv"
	"github.com/knowmetools/km-release/lambdas/jobs/jobrun"
	"github.com/knowmetools/km-release/testrig/awsemu/emutest"
	"github.com/knowmetools/km-release/testrig/ecstasktest"
)

func TestMain(m *testing.M) { emutest.Main(m) }

// blueGreen is a CODE_DEPLOY service mid-deployment: task set "blue" (revision 1) is
// PRIMARY, "green" (revision 2) is the replacement.
type blueGreen struct {
	fx           *ecstasktest.Fixture
	ecs          *ecs.Client
	service      string
	blue, green  string // task definition ARNs
	greenTaskSet string
}

func newBlueGreen(t *testing.T) *blueGreen {
	emu := emutest.Start(t)
	cfg := emu.AWSConfig()
	b := &blueGreen{fx: ecstasktest.New(t, cfg, emutest.UniqueName(t)), ecs: ecs.NewFromConfig(cfg), service: "api"}
	b.blue = b.fx.TaskDefinition
	b.green = b.fx.Register(t, "example/api:2")
	ctx := t.Context()
	net := &types.NetworkConfiguration{AwsvpcConfiguration: &types.AwsVpcConfiguration{Subnets: b.fx.Subnets, SecurityGroups: b.fx.SecurityGroups}}
	if _, err := b.ecs.CreateService(ctx, &ecs.CreateServiceInput{
		Cluster: aws.String(b.fx.Cluster), ServiceName: aws.String(b.service), TaskDefinition: aws.String(b.blue),
		DesiredCount: aws.Int32(1), LaunchType: types.LaunchTypeFargate, NetworkConfiguration: net,
		DeploymentController: &types.DeploymentController{Type: types.DeploymentControllerTypeCodeDeploy},
	}); err != nil {
		t.Fatalf("CreateService: %v", err)
	}
	var sets []string
	for _, td := range []string{b.blue, b.green} {
		ts, err := b.ecs.CreateTaskSet(ctx, &ecs.CreateTaskSetInput{Cluster: aws.String(b.fx.Cluster), Service: aws.String(b.service),
			TaskDefinition: aws.String(td), LaunchType: types.LaunchTypeFargate, NetworkConfiguration: net})
		if err != nil {
			t.Fatalf("CreateTaskSet: %v", err)
		}
		sets = append(sets, aws.ToString(ts.TaskSet.TaskSetArn))
	}
	b.greenTaskSet = sets[1]
	b.primary(t, sets[0])
	return b
}

func (b *blueGreen) primary(t *testing.T, taskSet string) {
	if _, err := b.ecs.UpdateServicePrimaryTaskSet(t.Context(), &ecs.UpdateServicePrimaryTaskSetInput{
		Cluster: aws.String(b.fx.Cluster), Service: aws.String(b.service), PrimaryTaskSet: aws.String(taskSet)}); err != nil {
		t.Fatalf("UpdateServicePrimaryTaskSet: %v", err)
	}
}

func (b *blueGreen) jobs(t *testing.T, log *bytes.Buffer) *jobrun.Jobs {
	env := b.fx.Env()
	env["SERVICE"] = b.service
	j, err := jobrun.New(t.Context(), envconfig.MapLookuper(env), emutest.Start(t).AWSConfig(), lambdaenv.Logger(log))
	if err != nil {
		t.Fatal(err)
	}
	return j
}

func (b *blueGreen) describe(t *testing.T, arn string) types.Task {
	out, err := b.ecs.DescribeTasks(t.Context(), &ecs.DescribeTasksInput{Cluster: aws.String(b.fx.Cluster), Tasks: []string{arn}})
	if err != nil || len(out.Tasks) != 1 {
		t.Fatalf("DescribeTasks: %v", err)
	}
	return out.Tasks[0]
}

func tick(id string) events.CloudWatchEvent {
	return events.CloudWatchEvent{ID: id, DetailType: "Scheduled Event", Source: "aws.events", Time: time.Now()}
}

func TestRunsOnTheTaskDefinitionServingProduction(t *testing.T) {
	b := newBlueGreen(t)
	var log bytes.Buffer
	j := b.jobs(t, &log)

	out, err := j.Handle(t.Context(), tick("e-1"))
	if err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	if out.TaskDefinition != b.blue || out.Skipped || out.ExitCode == nil || *out.ExitCode != 0 {
		t.Fatalf("mid-deployment run %+v: want the primary (blue) task set's definition %s", out, b.blue)
	}
	task := b.describe(t, out.TaskArn)
	if aws.ToString(task.StartedBy) != jobrun.StartedBy || aws.ToString(task.TaskDefinitionArn) != b.blue {
		t.Errorf("task startedBy %q td %q", aws.ToString(task.StartedBy), aws.ToString(task.TaskDefinitionArn))
	}
	ov := task.Overrides.ContainerOverrides
	if len(ov) != 1 || strings.Join(ov[0].Command, " ") != "background-jobs" || len(ov[0].Environment) != 0 {
		t.Errorf("overrides %+v", ov)
	}
	if out.LogGroup != b.fx.LogGroup || out.LogStream != "km/api/"+ecstask.TaskID(out.TaskArn) {
		t.Errorf("log location %q %q", out.LogGroup, out.LogStream)
	}
	for _, want := range []string{`"msg":"background jobs finished"`, `"exitCode":0`, out.LogStream} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("log lacks %s:\n%s", want, log.String())
		}
	}

	// Traffic shifted: green is primary now.
	b.primary(t, b.greenTaskSet)
	out, err = j.Handle(t.Context(), tick("e-2"))
	if err != nil {
		t.Fatal(err)
	}
	if out.TaskDefinition != b.green {
		t.Fatalf("after the shift ran %s, want %s", out.TaskDefinition, b.green)
	}
}

func TestSkipsWhileARunIsGoing(t *testing.T) {
	b := newBlueGreen(t)
	emutest.Start(t).Faults().NextTaskRunsFor(3 * time.Second)
	running, err := ecstask.Run(t.Context(), b.ecs, ecstask.RunInput{Cluster: b.fx.Cluster, TaskDefinition: b.blue,
		Subnets: b.fx.Subnets, StartedBy: jobrun.StartedBy})
	if err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	out, err := b.jobs(t, &log).Handle(t.Context(), tick("e-3"))
	if err != nil {
		t.Fatal(err)
	}
	if !out.Skipped || out.TaskArn != aws.ToString(running.TaskArn) {
		t.Fatalf("outcome %+v: want a skip naming the running task", out)
	}
	if !strings.Contains(log.String(), "skipping this run") {
		t.Errorf("no skip log line:\n%s", log.String())
	}
	found, err := ecstask.FindByStartedBy(t.Context(), b.ecs, b.fx.Cluster, jobrun.StartedBy)
	if err != nil || len(found) != 1 {
		t.Errorf("%d job tasks (want only the running one), %v", len(found), err)
	}
}

func TestFailsOnNonZeroExit(t *testing.T) {
	b := newBlueGreen(t)
	emutest.Start(t).Faults().NextTaskExit(ecstasktest.Container, 2, "")
	var log bytes.Buffer
	h, err := jobrun.NewHandler(t.Context(), envconfig.MapLookuper(map[string]string{}), emutest.Start(t).AWSConfig())
	if err == nil || h != nil || !strings.Contains(err.Error(), "CLUSTER") {
		t.Errorf("missing configuration: handler %v, error %v", h, err)
	}
	out, err := b.jobs(t, &log).Handle(t.Context(), tick("e-4"))
	var tf *ecstask.TaskFailedError
	if !errors.As(err, &tf) || *tf.ExitCode != 2 {
		t.Fatalf("want a failed invocation with exit code 2, got %v", err)
	}
	if out.ExitCode == nil || *out.ExitCode != 2 || out.LogStream == "" {
		t.Errorf("outcome %+v", out)
	}
	if !strings.Contains(log.String(), `"msg":"background jobs failed"`) || !strings.Contains(log.String(), `"exitCode":2`) {
		t.Errorf("log:\n%s", log.String())
	}
}

func TestHandlerThroughLambdaPayload(t *testing.T) {
	b := newBlueGreen(t)
	env := b.fx.Env()
	env["SERVICE"] = b.service
	env["JOBS_COMMAND"] = "background-jobs --quick"
	h, err := jobrun.NewHandler(t.Context(), envconfig.MapLookuper(env), emutest.Start(t).AWSConfig())
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := json.Marshal(tick("e-5"))
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	resp, err := h.Invoke(ctx, payload)
	if err != nil {
		t.Fatal(err)
	}
	var out jobrun.Outcome
	if err := json.Unmarshal(resp, &out); err != nil || out.TaskArn == "" {
		t.Fatalf("response %s: %v", resp, err)
	}
	if cmd := b.describe(t, out.TaskArn).Overrides.ContainerOverrides[0].Command; strings.Join(cmd, "|") != "background-jobs|--quick" {
		t.Errorf("command %q", cmd)
	}
}

func TestServingTaskDefinition(t *testing.T) {
	cases := []struct {
		name string
		svc  types.Service
		want string
	}{
		{"primary task set", types.Service{TaskDefinition: aws.String("svc"), TaskSets: []types.TaskSet{
			{Status: aws.String("ACTIVE"), TaskDefinition: aws.String("new")}, {Status: aws.String("PRIMARY"), TaskDefinition: aws.String("old")}},
			Deployments: []types.Deployment{{Status: aws.String("PRIMARY"), TaskDefinition: aws.String("dep")}}}, "old"},
		{"primary deployment", types.Service{TaskDefinition: aws.String("svc"), Deployments: []types.Deployment{
			{Status: aws.String("ACTIVE"), TaskDefinition: aws.String("old")}, {Status: aws.String("PRIMARY"), TaskDefinition: aws.String("new")}}}, "new"},
		{"service", types.Service{TaskDefinition: aws.String("svc")}, "svc"},
	}
	for _, c := range cases {
		got, from, err := jobrun.ServingTaskDefinition(&c.svc)
		if err != nil || got != c.want || from == "" {
			t.Errorf("%s: %q (%s), %v", c.name, got, from, err)
		}
	}
	if _, _, err := jobrun.ServingTaskDefinition(&types.Service{ServiceName: aws.String("x")}); err == nil {
		t.Error("service without task definition accepted")
	}
}
