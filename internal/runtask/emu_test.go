package runtask_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/knowmetools/km-release/internal/runtask"
	"github.com/knowmetools/km-release/testrig/envfixture"
	"github.com/knowmetools/km-release/testrig/envfixture/envtest"
	"github.com/knowmetools/km-release/testrig/syncbuf"
)

func TestMain(m *testing.M) { envtest.Main(m) }

func TestRunTaskExitCodes(t *testing.T) {
	env := envtest.Setup(t, envfixture.Options{NoMigrateHook: true})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out := &syncbuf.Buffer{}
	d := &runtask.Runner{ECS: ecs.NewFromConfig(env.AWS), Logs: cloudwatchlogs.NewFromConfig(env.AWS), Resources: &env.Resources, Out: out}
	opts := &runtask.Options{Command: []string{"migrate"}, Poll: 100 * time.Millisecond}

	res, err := d.Run(ctx, *opts)
	if err != nil || res.Err() != nil || res.ExitCode() == nil || *res.ExitCode() != 0 {
		t.Fatalf("clean run: %+v %v", res, err)
	}
	env.Emu.Faults().NextTaskExit(env.Resources.ContainerName, 7, "")
	res, err = d.Run(ctx, *opts)
	if err != nil || res.ExitCode() == nil || *res.ExitCode() != 7 || res.Err() == nil {
		t.Fatalf("exit 7: %+v %v", res, err)
	}
	env.Emu.Faults().NextTaskFailsToStart("ResourceInitializationError: unable to pull secrets")
	res, err = d.Run(ctx, *opts)
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode() != nil || res.Err() == nil || !strings.Contains(res.Err().Error(), "ResourceInitializationError") {
		t.Fatalf("failed start: %+v %v", res, res.Err())
	}
	if !strings.Contains(out.String(), "Started task") || !strings.Contains(out.String(), "\n| ") {
		t.Errorf("output:\n%s", out)
	}
	t.Logf("output:\n%s", out)
	if _, err := d.Run(ctx, runtask.Options{}); err == nil {
		t.Error("no command accepted")
	}
}
