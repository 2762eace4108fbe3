package main

import (
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/knowmetools/km-release/internal/config"
	"github.com/knowmetools/km-release/testrig/awsemu/emutest"
	"github.com/knowmetools/km-release/testrig/envfixture"
)

// namedEnv is an environment whose every resource name comes from its KM_* variable:
// commands refused for their input never get to use them.
func namedEnv(t *testing.T) map[string]string {
	t.Helper()
	res := config.Resources{ContainerPort: 8000, TaskSubnets: []string{"subnet-1"}, TaskSecurityGroups: []string{"sg-1"}}
	names := map[string]string{}
	for _, s := range res.Settings() {
		names[s.Var] = "name-from-variable"
	}
	maps.Copy(names, res.Env())
	return emuEnv(t, names)
}

// Every command refuses bad input with exit code 2 and a message naming the problem,
// before it changes anything: no call that creates, changes or deletes reaches AWS.
func TestBadInputExitsTwoAndChangesNothing(t *testing.T) {
	emu := emutest.Start(t)
	web := t.TempDir()
	if err := os.WriteFile(filepath.Join(web, "index.html"), []byte("<html></html>"), 0o644); err != nil {
		t.Fatal(err)
	}
	image := "127.0.0.1:1/km/api@sha256:" + strings.Repeat("a", 64)
	infra := infraEnv(t)
	for _, tc := range []struct {
		name string
		env  map[string]string // on top of namedEnv
		args []string
		want []string // in stderr
	}{
		{"unknown command", nil, []string{"deploy"}, []string{"unknown command"}},
		{"unknown flag", nil, []string{"status", "--bogus"}, []string{"unknown flag"}},
		{"extra argument", nil, []string{"status", "now"}, []string{"unknown command"}},
		{"rollout without --image", nil, []string{"rollout"}, []string{"--image"}},
		{"rollout --timeout soon", nil, []string{"rollout", "--image", image, "--timeout", "soon"}, []string{"--timeout"}},
		{"rollout --timeout -1s", nil, []string{"rollout", "--image", image, "--timeout", "-1s"}, []string{"--timeout", "-1s"}},
		{"rollout to port 70000", map[string]string{"KM_CONTAINER_PORT": "70000"}, []string{"rollout", "--image", image}, []string{"KM_CONTAINER_PORT", "1 to 65535"}},
		{"every problem at once", map[string]string{"KM_ENV": "", "AWS_REGION": "", "AWS_DEFAULT_REGION": "", "KM_CLUSTER": "", "KM_RESOURCES_FROM": "auto"},
			[]string{"rollout", "--timeout", "-5m"}, []string{"--image", "--timeout", "KM_ENV", "AWS_REGION", "KM_TF_STATE_BUCKET"}},
		{"terraform missing", map[string]string{"KM_CLUSTER": "", "KM_RESOURCES_FROM": "auto", "KM_TF_STATE_BUCKET": "state", "KM_TF_BINARY": "/nonexistent/terraform"},
			[]string{"rollout", "--image", image}, []string{"KM_TF_BINARY"}},
		{"wait --timeout -5m", nil, []string{"wait", "--timeout", "-5m"}, []string{"--timeout"}},
		{"rollback --timeout -1s", nil, []string{"rollback", "--timeout", "-1s"}, []string{"--timeout"}},
		{"run-task without --command", nil, []string{"run-task"}, []string{"--command"}},
		{"publish-web without --dir", nil, []string{"publish-web"}, []string{"--dir"}},
		{"publish-web --concurrency 0", nil, []string{"publish-web", "--dir", web, "--concurrency", "0"}, []string{"--concurrency"}},
		{"publish-web --concurrency -3 --keep -1", nil, []string{"publish-web", "--dir", web, "--concurrency", "-3", "--keep", "-1"}, []string{"--concurrency", "--keep"}},
		{"db restore without --from", nil, []string{"db", "restore"}, []string{"--from"}},
		{"db backup --via nonsense", nil, []string{"db", "backup", "--via", "nonsense"}, []string{"--via"}},
		{"bucket copy without buckets", nil, []string{"bucket", "copy", "--workers", "0"}, []string{"--from", "--to", "--workers"}},
		{"maintenance bogus", nil, []string{"maintenance", "bogus"}, []string{"bogus"}},
		{"infra plan without a state bucket or configuration", map[string]string{"KM_TF_STATE_BUCKET": "", "KM_TF_DIR": "/nonexistent"}, []string{"infra", "plan"}, []string{"KM_TF_STATE_BUCKET", "KM_TF_DIR"}},
		{"infra plan without terraform", map[string]string{"KM_TF_STATE_BUCKET": "state", "KM_TF_BINARY": "/nonexistent/terraform"}, []string{"infra", "plan"}, []string{"KM_TF_BINARY"}},
		{"infra apply --auto-plan --plan", infra, []string{"infra", "apply", "--auto-plan", "--plan", "x.tfplan"}, []string{"--plan"}},
		{"infra forget without --confirm", infra, []string{"infra", "forget", "terraform_data.db"}, []string{"--confirm"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := namedEnv(t)
			maps.Copy(env, tc.env)
			before := emu.Faults().AllCalls()
			_, stderr, code := kmdeploy(t, env, tc.args...)
			if code != exitUsage {
				t.Errorf("exit code %d, want %d\n%s", code, exitUsage, stderr)
			}
			for _, want := range tc.want {
				if !strings.Contains(stderr, want) {
					t.Errorf("stderr does not name %q:\n%s", want, stderr)
				}
			}
			for call, n := range emu.Faults().AllCalls() {
				if n > before[call] && changesSomething(call) {
					t.Errorf("%s was called (%d times): a refused command changed something", call, n-before[call])
				}
			}
		})
	}
}

// changesSomething tells AWS operations that create, change or delete from reads.
func changesSomething(call string) bool {
	_, op, _ := strings.Cut(call, "/")
	return !regexp.MustCompile(`^(Describe|Get|List|Head|Batch(Get|Check))`).MatchString(op)
}

// The table in docs/configuration.md is the table in code.
func TestExitCodesDocumented(t *testing.T) {
	doc, err := os.ReadFile("../../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	rows := regexp.MustCompile("(?m)^\\| `?(\\d+)`? \\| (.+) \\|$").FindAllStringSubmatch(string(doc), -1)
	documented := map[int]string{}
	for _, r := range rows {
		code, _ := strconv.Atoi(r[1])
		documented[code] = r[2]
	}
	for _, c := range exitCodes {
		if documented[c.Code] != c.Meaning {
			t.Errorf("exit code %d: docs/configuration.md says %q, the code %q", c.Code, documented[c.Code], c.Meaning)
		}
	}
	if len(documented) != len(exitCodes) {
		t.Errorf("docs/configuration.md documents %d exit codes, the code has %d", len(documented), len(exitCodes))
	}
}

// Status reads only the five names it declares: with exactly those set and
// KM_RESOURCES_FROM=env, it runs (it used to ask for KM_CONTAINER_PORT). Without the
// migration hook's names, status, wait and rollback still run: the hook is optional.
func TestCommandsNeedOnlyWhatTheyDeclare(t *testing.T) {
	fx, _ := rolloutEnv(t, envfixture.Options{NoMigrateHook: true})
	r := fx.Resources
	five := emuEnv(t, map[string]string{"KM_CLUSTER": r.Cluster, "KM_SERVICE": r.Service, "KM_CONTAINER_NAME": r.ContainerName,
		"KM_CODE_DEPLOY_APP": r.CodeDeployApp, "KM_CODE_DEPLOY_GROUP": r.CodeDeployGroup})
	stdout, stderr, code := kmdeploy(t, five, "status")
	if code != exitOK || !strings.Contains(stdout, r.Service) {
		t.Fatalf("status with its five names: code %d\n%s%s", code, stdout, stderr)
	}
	if strings.Contains(stderr, "DEBUG") {
		t.Errorf("status printed SDK debug lines:\n%s", stderr)
	}
	if _, stderr, code := kmdeploy(t, five, "rollback", "--dry-run"); code == exitUsage && strings.Contains(stderr, "KM_MIGRATE_FUNCTION") {
		t.Errorf("rollback asks for the optional hook: %s", stderr)
	}
}
