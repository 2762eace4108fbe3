package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/knowmetools/km-release/testrig/envfixture"
	"github.com/knowmetools/km-release/testrig/envfixture/envtest"
)

func rolloutEnv(t *testing.T, opts envfixture.Options) (*envfixture.Env, map[string]string) {
	t.Helper()
	fx := envtest.Setup(t, opts)
	return fx, emuEnv(t, fx.Resources.Env())
}

func TestRolloutCommands(t *testing.T) {
	fx, env := rolloutEnv(t, envfixture.Options{})
	ctx := context.Background()
	good, err := fx.PushImage(ctx, "good")
	if err != nil {
		t.Fatal(err)
	}
	bad, _ := fx.PushImage(ctx, "bad")

	if _, stderr, code := kmdeploy(t, env, "rollout", "--image", fx.TagRef("good")); code != 2 || !strings.Contains(stderr, "--allow-tag") {
		t.Errorf("tag: code %d, stderr %s", code, stderr)
	}
	stdout, stderr, code := kmdeploy(t, env, "rollout", "--image", good, "--dry-run")
	if code != 0 || !strings.Contains(stdout, "Dry run") {
		t.Errorf("dry run: code %d\n%s%s", code, stdout, stderr)
	}
	stdout, stderr, code = kmdeploy(t, env, "rollout", "--image", good)
	if code != 0 || !strings.Contains(stdout, "succeeded: the service runs") {
		t.Fatalf("rollout: code %d\n%s%s", code, stdout, stderr)
	}

	// The migration task exits 1: the deployment fails, exit code 1, with why.
	fx.Emu.Faults().NextTaskExit(fx.Resources.ContainerName, 1, "")
	stdout, stderr, code = kmdeploy(t, env, "rollout", "--image", bad)
	if code != 1 || !strings.Contains(stderr, "lifecycle event BeforeInstall failed") || !strings.Contains(stdout, "exit code 1") ||
		!strings.Contains(stdout, "traffic stayed on the previous revision") {
		t.Errorf("failed rollout: code %d\n%s%s", code, stdout, stderr)
	}

	stdout, stderr, code = kmdeploy(t, env, "status", "--json")
	var st struct {
		Image       string
		Deployments []struct{ Status string }
		WebVersion  string
	}
	if code != 0 || json.Unmarshal([]byte(stdout), &st) != nil {
		t.Fatalf("status: code %d\n%s%s", code, stdout, stderr)
	}
	if st.Image != good || len(st.Deployments) < 2 || st.WebVersion != "unknown" {
		t.Errorf("status %+v", st)
	}

	// An unknown deployment is a usage error, said before any progress line.
	if stdout, stderr, code := kmdeploy(t, env, "wait", "d-NOTEXIST1"); code != 2 || stdout != "" || !strings.Contains(stderr, "d-NOTEXIST1 does not exist") {
		t.Errorf("wait for an unknown deployment: code %d\n%s%s", code, stdout, stderr)
	}
	if _, stderr, code := kmdeploy(t, env, "wait"); code != 2 || !strings.Contains(stderr, "no deployment is active") {
		t.Errorf("wait without active deployment: code %d, %s", code, stderr)
	}
	stdout, stderr, code = kmdeploy(t, env, "rollback")
	if code != 0 || !strings.Contains(stdout, "Rolled back: the service runs "+fx.InitialTaskDefinition) {
		t.Errorf("rollback: code %d\n%s%s", code, stdout, stderr)
	}
}

func TestRunTaskCommandExitCodes(t *testing.T) {
	fx, env := rolloutEnv(t, envfixture.Options{NoMigrateHook: true})
	faults := fx.Emu.Faults()
	if stdout, stderr, code := kmdeploy(t, env, "run-task", "--command", "migrate"); code != 0 || !strings.Contains(stdout, "exited 0") {
		t.Errorf("clean: code %d\n%s%s", code, stdout, stderr)
	}
	faults.NextTaskExit(fx.Resources.ContainerName, 7, "")
	if stdout, stderr, code := kmdeploy(t, env, "run-task", "--command", "migrate"); code != 7 {
		t.Errorf("exit 7: code %d\n%s%s", code, stdout, stderr)
	}
	faults.NextTaskFailsToStart("CannotPullContainerError: no such image")
	if stdout, stderr, code := kmdeploy(t, env, "run-task", "--command", "migrate"); code != exitNeverRan || !strings.Contains(stderr, "CannotPullContainerError") {
		t.Errorf("failed start: code %d\n%s%s", code, stdout, stderr)
	}
	if _, stderr, code := kmdeploy(t, env, "run-task"); code == 0 || !strings.Contains(stderr, "command") {
		t.Errorf("no command: code %d %s", code, stderr)
	}
}
