package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// kmdeploy runs the CLI in-process with the given environment (on top of a clean
// Terraform home) and returns stdout, stderr and the exit code.
func kmdeploy(t *testing.T, env map[string]string, args ...string) (stdoutText, stderrText string, code int) {
	t.Helper()
	defer func() { allOutput.WriteString(stdoutText + stderrText) }()
	for k, v := range env {
		t.Setenv(k, v)
	}
	var stdout, stderr bytes.Buffer
	code = execute(context.Background(), args, &stdout, &stderr)
	return stdout.String(), stderr.String(), code
}

// allOutput collects everything the CLI printed in this test binary, for leak checks.
var allOutput strings.Builder

func infraEnv(t *testing.T) map[string]string {
	root := t.TempDir()
	dir := filepath.Join(root, "infra")
	if err := os.CopyFS(dir, os.DirFS("../../internal/terraform/testdata/basic")); err != nil {
		t.Fatal(err)
	}
	rc := filepath.Join(root, "terraformrc")
	os.WriteFile(rc, nil, 0o600)
	return map[string]string{
		"KM_ENV": "staging", "AWS_REGION": "us-east-1",
		"KM_TF_DIR": dir, "KM_TF_BACKEND": "local", "KM_TF_LOCAL_STATE_DIR": filepath.Join(root, "state"),
		"HOME": root, "TF_CLI_CONFIG_FILE": rc, "TF_PLUGIN_CACHE_DIR": "",
		"TF_VAR_db_password": "cli-secret-value",
	}
}

func TestConfigErrorExitCode2(t *testing.T) {
	_, stderr, code := kmdeploy(t, map[string]string{"KM_ENV": "", "AWS_REGION": "", "AWS_DEFAULT_REGION": "", "KM_TF_BACKEND": "ftp"}, "config")
	if code != 2 || !strings.Contains(stderr, "KM_ENV") || !strings.Contains(stderr, "KM_TF_BACKEND") {
		t.Fatalf("code %d, stderr:\n%s", code, stderr)
	}
}

func TestInfraCommandsEndToEnd(t *testing.T) {
	env := infraEnv(t)
	out, errOut, code := kmdeploy(t, env, "infra", "plan")
	if code != 0 || !strings.Contains(out, "Plan: 3 to add") || !strings.Contains(out, "+   terraform_data.db (create)") {
		t.Fatalf("plan: code %d\n%s\n%s", code, out, errOut)
	}
	// Quiet by default: Terraform's version and init output only with -v.
	for _, noise := range []string{`"terraform_version"`, "Initializing the backend", "terraform init"} {
		if strings.Contains(errOut, noise) {
			t.Errorf("infra plan printed %q without -v:\n%s", noise, errOut)
		}
	}
	if _, errOut, _ := kmdeploy(t, env, "infra", "plan", "-v"); !strings.Contains(errOut, "Initializing the backend") {
		t.Errorf("infra plan -v does not show Terraform's init:\n%s", errOut)
	}
	if _, errOut, code = kmdeploy(t, env, "infra", "apply"); code != 0 {
		t.Fatalf("apply: code %d\n%s", code, errOut)
	}
	out, _, code = kmdeploy(t, env, "infra", "output")
	if code != 0 || !strings.Contains(out, `cluster_name = "km-staging"`) || !strings.Contains(out, `db_password = "(sensitive)"`) {
		t.Fatalf("output: code %d\n%s", code, out)
	}
	// Resource names come from the outputs; secrets never show.
	out, _, code = kmdeploy(t, env, "config")
	if code != 0 || !strings.Contains(out, "KM_CLUSTER") || !strings.Contains(out, "km-staging") || !strings.Contains(out, "subnet-a,subnet-b") {
		t.Fatalf("config: code %d\n%s", code, out)
	}
	if _, _, code = kmdeploy(t, env, "infra", "drift"); code != 0 {
		t.Fatalf("drift right after apply: code %d", code)
	}
	env["TF_VAR_db_generation"] = "2"
	out, errOut, code = kmdeploy(t, env, "infra", "drift")
	if code != 3 || !strings.Contains(errOut, "terraform_data.db") {
		t.Fatalf("drift: code %d\n%s\n%s", code, out, errOut)
	}
	env["KM_PROTECTED_RESOURCES"] = "terraform_data.db"
	out, errOut, code = kmdeploy(t, env, "infra", "apply", "--auto-plan")
	if code != 4 || !strings.Contains(errOut, "docs/runbooks.md") {
		t.Fatalf("guarded apply: code %d\n%s\n%s", code, out, errOut)
	}
	out, errOut, code = kmdeploy(t, env, "infra", "apply", "--auto-plan", "--allow-destroy=terraform_data.db")
	if code != 0 || !strings.Contains(errOut, "GUARD OVERRIDE: terraform_data.db") {
		t.Fatalf("override: code %d\n%s\n%s", code, out, errOut)
	}
	if strings.Contains(allOutput.String(), "cli-secret-value") {
		t.Fatalf("secret leaked:\n%s", allOutput.String())
	}
}

func TestInfraForgetAndAdoptNeedConfirmation(t *testing.T) {
	env := infraEnv(t)
	if _, errOut, code := kmdeploy(t, env, "infra", "apply", "--auto-plan"); code != 0 {
		t.Fatalf("apply: code %d\n%s", code, errOut)
	}
	_, errOut, code := kmdeploy(t, env, "infra", "forget", "terraform_data.db")
	if code != 2 || !strings.Contains(errOut, "--confirm=terraform_data.db") {
		t.Fatalf("forget without confirmation: code %d\n%s", code, errOut)
	}
	out, errOut, code := kmdeploy(t, env, "infra", "forget", "terraform_data.db", "--confirm=terraform_data.db")
	if code != 0 || !strings.Contains(out, "still exists") {
		t.Fatalf("forget: code %d\n%s%s", code, out, errOut)
	}
	// The next plan would create it again: Terraform no longer knows it.
	out, _, _ = kmdeploy(t, env, "infra", "plan")
	if !strings.Contains(out, "+   terraform_data.db (create)") {
		t.Fatalf("plan after forget:\n%s", out)
	}
	out, errOut, code = kmdeploy(t, env, "infra", "adopt", "terraform_data.db", "0d3c1b7a-9f0e-4a55-8c1d-2b6e7f8a9c10", "--confirm=terraform_data.db")
	if code != 0 || !strings.Contains(out, "now manages") {
		t.Fatalf("adopt: code %d\n%s%s", code, out, errOut)
	}
}

// A variable kmdeploy treats as secret (by name here; Terraform was not told) never
// shows, neither its new value nor the old one Terraform knows from the state, in
// plan, drift or apply output, Terraform's own progress included.
func TestInfraNeverPrintsOldOrNewSecretValues(t *testing.T) {
	env := infraEnv(t)
	env["TF_VAR_api_token"] = "OLDTOKENVALUE"
	if _, errOut, code := kmdeploy(t, env, "infra", "apply", "--auto-plan"); code != 0 {
		t.Fatalf("apply: code %d\n%s", code, errOut)
	}
	env["TF_VAR_api_token"] = "NEWTOKENVALUE"
	var seen strings.Builder
	for _, args := range [][]string{{"infra", "plan"}, {"infra", "drift"}, {"infra", "apply", "--auto-plan"}, {"infra", "output"}} {
		out, errOut, code := kmdeploy(t, env, args...)
		seen.WriteString(out + errOut)
		if code != 0 && code != 3 {
			t.Fatalf("%v: code %d\n%s%s", args, code, out, errOut)
		}
	}
	if !strings.Contains(seen.String(), "terraform_data.token") {
		t.Fatalf("the change of terraform_data.token is not shown:\n%s", seen.String())
	}
	for _, secret := range []string{"OLDTOKENVALUE", "NEWTOKENVALUE"} {
		if strings.Contains(seen.String(), secret) {
			t.Errorf("%s printed:\n%s", secret, seen.String())
		}
	}
}
