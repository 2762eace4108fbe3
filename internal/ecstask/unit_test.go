package ecstask

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

func TestBuildRunTaskInput(t *testing.T) {
	in := RunInput{
		Cluster: "km", TaskDefinition: "arn:td:7", ContainerName: "api", Command: []string{"migrate"},
		Subnets: []string{"subnet-a", "subnet-b"}, SecurityGroups: []string{"sg-a"},
		StartedBy: "d-ABC", Group: "migrate:d-ABC", ClientToken: "d-ABC",
	}
	req, err := in.Build()
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(req.Cluster) != "km" || aws.ToString(req.TaskDefinition) != "arn:td:7" || aws.ToInt32(req.Count) != 1 {
		t.Errorf("target = %v %v %v", aws.ToString(req.Cluster), aws.ToString(req.TaskDefinition), req.Count)
	}
	if req.LaunchType != types.LaunchTypeFargate || req.CapacityProviderStrategy != nil {
		t.Errorf("launch = %q %v", req.LaunchType, req.CapacityProviderStrategy)
	}
	vpc := req.NetworkConfiguration.AwsvpcConfiguration
	if !reflect.DeepEqual(vpc.Subnets, in.Subnets) || !reflect.DeepEqual(vpc.SecurityGroups, in.SecurityGroups) || vpc.AssignPublicIp != types.AssignPublicIpDisabled {
		t.Errorf("network = %+v", vpc)
	}
	if aws.ToString(req.StartedBy) != "d-ABC" || aws.ToString(req.Group) != "migrate:d-ABC" || aws.ToString(req.ClientToken) != "d-ABC" {
		t.Errorf("tags = %v %v %v", req.StartedBy, req.Group, req.ClientToken)
	}
	// The override carries the command and nothing else: secrets stay in the task definition.
	ov := req.Overrides
	if len(ov.ContainerOverrides) != 1 {
		t.Fatalf("overrides = %+v", ov)
	}
	want := types.ContainerOverride{Name: aws.String("api"), Command: []string{"migrate"}}
	if !reflect.DeepEqual(ov.ContainerOverrides[0], want) || ov.TaskRoleArn != nil || ov.ExecutionRoleArn != nil || ov.Cpu != nil || ov.Memory != nil {
		t.Errorf("override = %+v", ov)
	}

	in.AssignPublicIP, in.Command = true, nil
	req, err = in.Build()
	if err != nil {
		t.Fatal(err)
	}
	if req.Overrides != nil || req.NetworkConfiguration.AwsvpcConfiguration.AssignPublicIp != types.AssignPublicIpEnabled {
		t.Errorf("overrides %+v, public ip %q", req.Overrides, req.NetworkConfiguration.AwsvpcConfiguration.AssignPublicIp)
	}
}

func TestBuildRejectsBadInput(t *testing.T) {
	_, err := RunInput{Command: []string{"x"}, StartedBy: strings.Repeat("s", 129)}.Build()
	var ie *InputError
	if !errors.As(err, &ie) {
		t.Fatalf("want *InputError, got %v", err)
	}
	for _, want := range []string{"cluster", "task definition", "container name", "subnets", "128"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
}

func task(lastStatus string, stop types.TaskStopCode, reason string, containers ...types.Container) types.Task {
	return types.Task{TaskArn: aws.String("arn:aws:ecs:us-east-1:1:task/km/0123abcd"), LastStatus: aws.String(lastStatus),
		StopCode: stop, StoppedReason: aws.String(reason), Containers: containers}
}

func ctr(name string, code *int32, reason string) types.Container {
	return types.Container{Name: aws.String(name), ExitCode: code, Reason: aws.String(reason)}
}

func TestResultErr(t *testing.T) {
	ok := ResultOf(task("STOPPED", types.TaskStopCodeEssentialContainerExited, "Essential container in task exited",
		ctr("api", aws.Int32(0), ""), ctr("log-router", aws.Int32(143), "")), "api")
	if err := ok.Err(); err != nil {
		t.Errorf("exit 0 of the deciding container: %v", err)
	}
	if c := ok.ExitCode(); c == nil || *c != 0 {
		t.Errorf("ExitCode = %v", c)
	}
	ok.Container = ""
	if err := ok.Err(); err == nil || !strings.Contains(err.Error(), "log-router exited with code 143") {
		t.Errorf("all containers decide: %v", err)
	}

	failed := ResultOf(task("STOPPED", types.TaskStopCodeEssentialContainerExited, "Essential container in task exited",
		ctr("api", aws.Int32(3), "")), "api")
	var tf *TaskFailedError
	if err := failed.Err(); !errors.As(err, &tf) || tf.FailedToStart() || *tf.ExitCode != 3 ||
		err.Error() != "task 0123abcd: container api exited with code 3 (stop code EssentialContainerExited): Essential container in task exited" {
		t.Errorf("non-zero exit: %v", err)
	}

	never := ResultOf(task("STOPPED", types.TaskStopCodeTaskFailedToStart, "CannotPullContainerError: pull access denied",
		ctr("api", nil, "CannotPullContainerError")), "api")
	if err := never.Err(); !errors.As(err, &tf) || !tf.FailedToStart() || !strings.Contains(err.Error(), "did not run") || !strings.Contains(err.Error(), "pull access denied") {
		t.Errorf("failed to start: %v", err)
	}

	running := ResultOf(task("RUNNING", "", "", ctr("api", nil, "")), "api")
	if err := running.Err(); err == nil || !strings.Contains(err.Error(), "still RUNNING") {
		t.Errorf("running task: %v", err)
	}
	missing := ResultOf(task("STOPPED", "", "", ctr("api", aws.Int32(0), "")), "worker")
	if err := missing.Err(); err == nil || !strings.Contains(err.Error(), "worker is not part of the task") {
		t.Errorf("unknown container: %v", err)
	}
}

func TestLocateLogs(t *testing.T) {
	td := &types.TaskDefinition{TaskDefinitionArn: aws.String("arn:td:1"), ContainerDefinitions: []types.ContainerDefinition{
		{Name: aws.String("api"), LogConfiguration: &types.LogConfiguration{LogDriver: types.LogDriverAwslogs,
			Options: map[string]string{"awslogs-group": "/ecs/km", "awslogs-stream-prefix": "km", "awslogs-region": "us-east-1"}}},
		{Name: aws.String("side"), LogConfiguration: &types.LogConfiguration{LogDriver: types.LogDriverJsonFile}},
	}}
	loc, err := Locate(td, "api", "arn:aws:ecs:us-east-1:1:task/km-cluster/9f8e7d")
	if err != nil {
		t.Fatal(err)
	}
	if loc != (LogLocation{Group: "/ecs/km", Stream: "km/api/9f8e7d", Region: "us-east-1"}) {
		t.Errorf("location = %+v", loc)
	}
	if TaskID("arn:aws:ecs:us-east-1:1:task/abc") != "abc" {
		t.Error("short ARN format")
	}
	for _, c := range []string{"side", "nope"} {
		var nl *NoLogsError
		if _, err := Locate(td, c, "arn:x/y"); !errors.As(err, &nl) {
			t.Errorf("%s: %v", c, err)
		}
	}
}
