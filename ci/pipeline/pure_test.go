package pipeline

import (
	"context"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
)

const digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func TestParseImageRef(t *testing.T) {
	ecr := "123456789012.dkr.ecr.eu-west-1.amazonaws.com/knowme-api"
	cases := []struct {
		in                    string
		repo, tag, dig, regis string
		wantErr               string
	}{
		{in: "golang:1.26.8-bookworm", repo: "golang", tag: "1.26.8-bookworm", regis: "docker.io"},
		{in: "hashicorp/terraform:1.11.4@" + digest, repo: "hashicorp/terraform", tag: "1.11.4", dig: digest, regis: "docker.io"},
		{in: ecr + "@" + digest, repo: ecr, dig: digest, regis: "123456789012.dkr.ecr.eu-west-1.amazonaws.com"},
		{in: "127.0.0.1:5000/knowme-api:abc123", repo: "127.0.0.1:5000/knowme-api", tag: "abc123", regis: "127.0.0.1:5000"},
		{in: "localhost/x", repo: "localhost/x", regis: "localhost"},
		{in: "", wantErr: "empty"},
		{in: "golang@sha256:abc", wantErr: "digest must be sha256"},
		{in: "Golang:1", wantErr: "invalid repository"},
		{in: "golang:bad tag", wantErr: "invalid tag"},
	}
	for _, c := range cases {
		ref, err := ParseImageRef(c.in)
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("%q: error %v, want %q", c.in, err, c.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", c.in, err)
			continue
		}
		if ref.Repository != c.repo || ref.Tag != c.tag || ref.Digest != c.dig || ref.Registry() != c.regis {
			t.Errorf("%q: got %+v registry %s", c.in, ref, ref.Registry())
		}
		if ref.String() != c.in {
			t.Errorf("%q: renders back as %q", c.in, ref.String())
		}
	}
}

func TestPinnedImage(t *testing.T) {
	got, err := PinnedImage("repo.example.com/api:abc@" + digest)
	if err != nil || got != "repo.example.com/api@"+digest {
		t.Fatalf("got %q, %v", got, err)
	}
	if _, err := PinnedImage("repo.example.com/api:latest"); err == nil || !strings.Contains(err.Error(), "not pinned by digest") {
		t.Fatalf("a tag must be refused, got %v", err)
	}
}

func TestImagesDefaultsAndValidate(t *testing.T) {
	img := Images{Go: "golang:1.26.8-bookworm@" + digest}.WithDefaults()
	if img.Go != "golang:1.26.8-bookworm@"+digest || img.Node != DefaultNodeImage || img.Terraform != DefaultTerraformImage {
		t.Fatalf("defaults: %+v", img)
	}
	if err := img.Validate(); err != nil {
		t.Fatal(err)
	}
	img.Node, img.Base = "Bad Image", "x@sha256:1"
	err := img.Validate()
	var ce *ConfigError
	if !errors.As(err, &ce) || len(ce.Problems) != 2 || !strings.Contains(err.Error(), "--node-image") || !strings.Contains(err.Error(), "--base-image") {
		t.Fatalf("want both bad images named, got %v", err)
	}
}

func TestEnvironmentValidateNamesEveryProblem(t *testing.T) {
	err := Environment{Name: "Prod!", Region: "europe", StateBucket: "", EndpointURL: "ftp://x", App: "A"}.Validate()
	var ce *ConfigError
	if !errors.As(err, &ce) {
		t.Fatalf("want ConfigError, got %v", err)
	}
	for _, flag := range []string{"--env", "--region", "--state-bucket", "--aws-endpoint-url", "--app"} {
		if !strings.Contains(err.Error(), flag) {
			t.Errorf("problem with %s not named in %v", flag, err)
		}
	}
	if len(ce.Problems) != 5 {
		t.Errorf("want 5 problems, got %d", len(ce.Problems))
	}
}

func TestEnvironmentVars(t *testing.T) {
	env := Environment{Name: "staging", Region: "eu-west-1", StateBucket: "km-state", EndpointURL: "http://127.0.0.1:4566"}
	if err := env.Validate(); err != nil {
		t.Fatal(err)
	}
	got := env.For("production").Vars()
	want := []EnvVar{
		{"AWS_ENDPOINT_URL", "http://127.0.0.1:4566"},
		{"AWS_REGION", "eu-west-1"},
		{"KM_ENV", "production"},
		{"KM_TF_BACKEND", "s3"},
		{"KM_TF_STATE_BUCKET", "km-state"},
		{"TF_IN_AUTOMATION", "1"},
	}
	if !slices.Equal(got, want) {
		t.Fatalf("got %v\nwant %v", got, want)
	}
	if env.Name != "staging" {
		t.Fatal("For must not change the original")
	}
	for _, v := range got {
		if strings.HasPrefix(v.Name, "AWS_SECRET") || strings.HasPrefix(v.Name, "AWS_ACCESS") {
			t.Fatalf("credentials must never be plain variables: %v", v)
		}
	}
}

func TestCheckCredentials(t *testing.T) {
	if err := CheckCredentials(true, true, false); err != nil {
		t.Fatal(err)
	}
	if err := CheckCredentials(true, true, true); err != nil {
		t.Fatal(err)
	}
	if err := CheckCredentials(false, false, false); err == nil || !strings.Contains(err.Error(), "env://AWS_SECRET_ACCESS_KEY") {
		t.Fatalf("missing credentials must say which flags to pass: %v", err)
	}
	for _, c := range [][3]bool{{true, false, false}, {false, true, false}, {false, false, true}, {true, false, true}} {
		if err := CheckCredentials(c[0], c[1], c[2]); err == nil || !strings.Contains(err.Error(), "incomplete") {
			t.Errorf("%v: want incomplete, got %v", c, err)
		}
	}
}

func TestTFVarName(t *testing.T) {
	for uri, want := range map[string]string{
		"env://TF_VAR_admin_email":                 "TF_VAR_admin_email",
		"file:///run/secrets/TF_VAR_admin_email":   "TF_VAR_admin_email",
		"file://./secrets/TF_VAR_db-name":          "TF_VAR_db-name",
		"vault://kv/knowme/TF_VAR_admin_password/": "TF_VAR_admin_password",
	} {
		got, err := TFVarName(uri)
		if err != nil || got != want {
			t.Errorf("%s: got %q, %v", uri, got, err)
		}
	}
	for _, uri := range []string{"env://ADMIN_PASSWORD", "file://./secrets.tfvars", "env://TF_VAR_", ""} {
		if _, err := TFVarName(uri); err == nil || !strings.Contains(err.Error(), "env://TF_VAR_") {
			t.Errorf("%q: want a refusal saying how to name it, got %v", uri, err)
		}
	}
}

func TestKmdeployArgv(t *testing.T) {
	image := "123456789012.dkr.ecr.eu-west-1.amazonaws.com/knowme-api"
	rollout, err := RolloutArgs(image + ":abc@" + digest)
	if err != nil {
		t.Fatal(err)
	}
	publish, err := PublishWebArgs("/bundle")
	if err != nil {
		t.Fatal(err)
	}
	imageCopy, err := ImageCopyArgs(image + ":abc@" + digest)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ got, want []string }{
		{PlanArgs(), []string{"kmdeploy", "infra", "plan"}},
		{ApplyArgs(), []string{"kmdeploy", "infra", "apply", "--auto-plan"}},
		{DriftArgs(), []string{"kmdeploy", "infra", "drift"}},
		{OutputArgs(OutputAPIURL), []string{"kmdeploy", "infra", "output", "api_url"}},
		{rollout, []string{"kmdeploy", "rollout", "--image", image + "@" + digest}},
		{publish, []string{"kmdeploy", "publish-web", "--dir", "/bundle"}},
		{StatusArgs(true), []string{"kmdeploy", "status", "--json"}},
		{StatusArgs(false), []string{"kmdeploy", "status"}},
		{ECRLoginArgs(), []string{"kmdeploy", "ecr-login"}},
		{imageCopy, []string{"kmdeploy", "image", "copy", image + "@" + digest}},
	} {
		if !slices.Equal(c.got, c.want) {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
	if _, err := RolloutArgs(image + ":latest"); err == nil || !strings.Contains(err.Error(), "--image") {
		t.Errorf("a tag must be refused naming --image: %v", err)
	}
	if _, err := PublishWebArgs("build"); err == nil {
		t.Error("a relative bundle directory must be refused")
	}
	if _, err := ImageCopyArgs(image + ":latest"); err == nil {
		t.Error("copying a tag must be refused")
	}
}

func TestParseImageCopy(t *testing.T) {
	staging := "123456789012.dkr.ecr.eu-west-1.amazonaws.com/knowme-staging-api@" + digest
	production := "123456789012.dkr.ecr.eu-west-1.amazonaws.com/knowme-production-api"
	got, err := ParseImageCopy(production+"@"+digest+"\n", staging)
	if err != nil || got != production+"@"+digest {
		t.Fatalf("got %q, %v; want %s@%s", got, err, production, digest)
	}
	other := "sha256:" + strings.Repeat("0", 64)
	for _, out := range []string{production + "@" + other, production + ":v1", "", "not a reference"} {
		if _, err := ParseImageCopy(out, staging); err == nil {
			t.Errorf("output %q accepted; want a refusal (not the source's digest)", out)
		}
	}
}

func TestParseStatus(t *testing.T) {
	img := "123456789012.dkr.ecr.eu-west-1.amazonaws.com/knowme-api@" + digest
	got, err := ParseStatus(`{"environment":"staging","image":"` + img + `","deployments":[{"id":"d-1"}]}`)
	if err != nil || got != img {
		t.Fatalf("got %q, %v", got, err)
	}
	got, err = ParseStatus(`{"image":"repo.example.com/api:abc","imageDigest":"` + digest + `"}`)
	if err != nil || got != "repo.example.com/api@"+digest {
		t.Fatalf("a tag with the tasks' digest: got %q, %v", got, err)
	}
	other := "sha256:" + strings.Repeat("f", 64)
	if _, err := ParseStatus(`{"image":"repo.example.com/api@` + digest + `","imageDigest":"` + other + `"}`); err == nil || !strings.Contains(err.Error(), "mid-deployment") {
		t.Errorf("disagreeing digests must be refused: %v", err)
	}
	for in, want := range map[string]string{
		`{"image":"repo/api:latest","imageDigest":"unknown"}`: "not pinned by digest",
		`not json`:                    "reading kmdeploy status",
		`{"environment":"staging"}`:   "names no running image",
		`{"image":"repo/api:latest"}`: "not pinned by digest",
	} {
		if _, err := ParseStatus(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want %q", in, err, want)
		}
	}
}

func TestTrimOutput(t *testing.T) {
	for in, want := range map[string]string{"https://api.example.com\n": "https://api.example.com", `"x"` + "\n": "x"} {
		if got, err := trimOutput(in, "api_url"); err != nil || got != want {
			t.Errorf("%q: got %q, %v", in, got, err)
		}
	}
	if _, err := trimOutput(" \n", "api_url"); err == nil || !strings.Contains(err.Error(), "api_url") {
		t.Errorf("empty output must be refused naming it: %v", err)
	}
}

func TestDetectAPI(t *testing.T) {
	plan, err := DetectAPI("examples/api", []string{"go.mod", "go.sum", "examples/"}, []string{"Dockerfile", "main.go"})
	if err != nil {
		t.Fatal(err)
	}
	if plan.Kind != APIGo || plan.Dockerfile != "examples/api/Dockerfile" {
		t.Fatalf("%+v", plan)
	}
	if got := plan.TestCommands(); !slices.Equal(got[1], []string{"go", "test", "-count=1", "./examples/api/..."}) {
		t.Fatalf("go test command: %q", got)
	}

	plan, err = DetectAPI(".", []string{"Dockerfile", "km_api/", "requirements.txt", "requirements-dev.txt", "manage.py"},
		[]string{"Dockerfile", "km_api/", "requirements.txt", "requirements-dev.txt", "manage.py"})
	if err != nil {
		t.Fatal(err)
	}
	cmds := plan.TestCommands()
	if plan.Kind != APIPython || plan.Dockerfile != "Dockerfile" || len(cmds) != 5 ||
		!slices.Equal(cmds[0], []string{"pip", "install", "-r", "requirements-dev.txt"}) ||
		!slices.Equal(cmds[4], []string{"python", "-m", "pytest"}) {
		t.Fatalf("%+v %q", plan, cmds)
	}

	for _, c := range []struct {
		root, app []string
		want      string
	}{
		{[]string{"go.mod"}, []string{"main.go"}, "no Dockerfile"},
		{nil, []string{"Dockerfile"}, "cannot tell how to test"},
		{nil, []string{"Dockerfile", "manage.py"}, "no requirements"},
	} {
		if _, err := DetectAPI("app", c.root, c.app); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v %v: got %v, want %q", c.root, c.app, err, c.want)
		}
	}
}

func TestDetectWeb(t *testing.T) {
	plan, err := DetectWeb("examples/web/", []string{"package.json", "package-lock.json", "src/"}, true)
	if err != nil {
		t.Fatal(err)
	}
	if plan.Path != "examples/web" || plan.Output != "build" || !slices.Equal(plan.Install, []string{"npm", "ci", "--no-audit", "--no-fund", "--prefer-offline"}) ||
		!slices.Equal(plan.Build, []string{"npm", "run", "build"}) || !slices.Equal(plan.Test, []string{"npm", "test"}) {
		t.Fatalf("%+v", plan)
	}
	plan, err = DetectWeb(".", []string{"package.json", "yarn.lock"}, false)
	if err != nil || plan.Install[0] != "yarn" || plan.Test != nil {
		t.Fatalf("%+v %v", plan, err)
	}
	if _, err := DetectWeb(".", []string{"package.json"}, true); err == nil || !strings.Contains(err.Error(), "lock file") {
		t.Errorf("missing lock file: %v", err)
	}
	if _, err := DetectWeb(".", []string{"index.html"}, true); err == nil || !strings.Contains(err.Error(), "--web") {
		t.Errorf("no package.json: %v", err)
	}
}

func TestHasTestScript(t *testing.T) {
	for in, want := range map[string]bool{
		`{"scripts":{"test":"node --test test/"}}`:                           true,
		`{"scripts":{"build":"x"}}`:                                          false,
		`{"scripts":{"test":"echo \"Error: no test specified\" && exit 1"}}`: false,
	} {
		if got, err := HasTestScript([]byte(in)); err != nil || got != want {
			t.Errorf("%s: got %v, %v", in, got, err)
		}
	}
	if _, err := HasTestScript([]byte("{")); err == nil {
		t.Error("bad package.json must be an error")
	}
}

func TestSourcePath(t *testing.T) {
	if got := SourcePath(false, "", SampleAPIPath); got != SampleAPIPath {
		t.Error(got)
	}
	if got := SourcePath(true, "", SampleAPIPath); got != "." {
		t.Error(got)
	}
	if got := SourcePath(true, "/services/api/", SampleAPIPath); got != "services/api" {
		t.Error(got)
	}
}

func TestValidateInputs(t *testing.T) {
	if err := ValidateAPIURL("https://api.staging.example.com"); err != nil {
		t.Error(err)
	}
	for _, bad := range []string{"", "api.example.com", "ftp://x", "https://x?y=1"} {
		if err := ValidateAPIURL(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if err := ValidateCommit("0123abc"); err != nil {
		t.Error(err)
	}
	if err := ValidateCommit(""); err == nil || !strings.Contains(err.Error(), "git rev-parse") {
		t.Errorf("empty commit: %v", err)
	}
}

func TestRunStepsTimeline(t *testing.T) {
	var ran []string
	step := func(name string, err error) Step {
		return Step{name, func(context.Context) error { ran = append(ran, name); return err }}
	}
	tl, err := RunSteps(context.Background(), io.Discard, []Step{
		step("tests", nil),
		step("production", &Skip{Reason: "not asked"}),
		step("rollout", errors.New("deployment d-1 failed")),
		step("web", nil),
	})
	if err == nil || !strings.Contains(err.Error(), "deployment d-1 failed") {
		t.Fatalf("want the step's error, got %v", err)
	}
	if !slices.Equal(ran, []string{"tests", "production", "rollout"}) {
		t.Fatalf("ran %v: must stop at the first failure", ran)
	}
	var outcomes []string
	for _, r := range tl {
		outcomes = append(outcomes, r.Outcome)
	}
	if !slices.Equal(outcomes, []string{"ok", "skipped: not asked", "failed", "not run"}) {
		t.Fatalf("outcomes %v", outcomes)
	}
	s := tl.String()
	if !strings.Contains(s, "STEP") || !strings.Contains(err.Error(), s) {
		t.Fatalf("the error must carry the timeline:\n%s", err)
	}
}

func TestStepErrorShowsOutputTail(t *testing.T) {
	var lines []string
	for i := range 100 {
		lines = append(lines, "line "+strings.Repeat("x", i%3))
	}
	out := joinOutput(strings.Join(lines, "\n")+"\nFAIL: TestSomething\n", "", 5)
	if !strings.HasSuffix(out, "FAIL: TestSomething") || !strings.Contains(out, "(96 earlier lines)") {
		t.Fatalf("got %q", out)
	}
	e := &StepError{Step: "test-api", Cmd: []string{"go", "test", "./..."}, ExitCode: 1, Output: out}
	if !strings.Contains(e.Error(), "test-api failed: go test ./... exited with code 1") {
		t.Fatal(e.Error())
	}
}

// engineError stands in for the engine's GraphQL error that an ExecError wraps.
type engineError struct{}

func (engineError) Error() string { return "exit code: 1" }

func TestForModuleKeepsTheExplanation(t *testing.T) {
	if ForModule(nil) != nil {
		t.Fatal("nil must stay nil")
	}
	step := &StepError{Step: "apply (staging)", Cmd: ApplyArgs(), ExitCode: 1, Output: "stderr:\nError: no credentials", Err: engineError{}}
	_, err := RunSteps(context.Background(), io.Discard, []Step{{"apply staging", func(context.Context) error { return step }}})
	got := ForModule(err)
	if got.Error() != err.Error() {
		t.Fatalf("the text changed:\n%s\nwant\n%s", got, err)
	}
	for _, want := range []string{"apply (staging) failed: kmdeploy infra apply --auto-plan exited with code 1", "Error: no credentials", "STEP", "apply staging"} {
		if !strings.Contains(got.Error(), want) {
			t.Errorf("lacks %q:\n%s", want, got)
		}
	}
	// The Go SDK's dispatcher returns the first engine error it finds down the chain in
	// place of the whole; there must be no chain left to follow.
	if errors.Unwrap(got) != nil || errors.As(got, new(engineError)) {
		t.Fatalf("the engine's error is still reachable from %T", got)
	}
	if _, multi := got.(interface{ Unwrap() []error }); multi {
		t.Fatalf("%T unwraps", got)
	}
}

func TestStepErrorCommand(t *testing.T) {
	e := &StepError{Step: "tests", Cmd: []string{"sh", "-c", "pip install 'moto[server]'"}, ExitCode: 143}
	want := `tests failed: sh -c 'pip install '\''moto[server]'\''' exited with code 143 (terminated)`
	if e.Error() != want {
		t.Fatalf("got  %s\nwant %s", e.Error(), want)
	}
	e = &StepError{Step: "ecr-login", Err: errors.New("kmdeploy ecr-login printed no password")}
	if e.Error() != "ecr-login failed: kmdeploy ecr-login printed no password" {
		t.Fatal(e.Error())
	}
}

func TestAPIBuildArgs(t *testing.T) {
	img := Images{Go: "mirror.example.com/golang:1.26.8-bookworm"}.WithDefaults()
	got := map[string]string{}
	for _, a := range APIBuildArgs("0123abc", img) {
		got[a.Name] = a.Value
	}
	want := map[string]string{
		"VERSION": "0123abc", "GO_IMAGE": "mirror.example.com/golang:1.26.8-bookworm",
		"PYTHON_IMAGE": DefaultPythonImage, "NODE_IMAGE": DefaultNodeImage, "BASE_IMAGE": DefaultBaseImage,
	}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
}

func TestTerraformCLIConfig(t *testing.T) {
	plain := TerraformCLIConfig(false)
	for _, want := range []string{`plugin_cache_dir = "/var/cache/terraform-plugins"`, "plugin_cache_may_break_dependency_lock_file = true", "disable_checkpoint = true"} {
		if !strings.Contains(plain, want) {
			t.Errorf("lacks %q:\n%s", want, plain)
		}
	}
	if strings.Contains(plain, "provider_installation") {
		t.Errorf("without a mirror, providers come from their registries:\n%s", plain)
	}
	mirrored := TerraformCLIConfig(true)
	want := `provider_installation {
  filesystem_mirror {
    path    = "/toolbox/terraform-providers"
    include = ["registry.terraform.io/hashicorp/*"]
  }
  direct {
    exclude = ["registry.terraform.io/hashicorp/*"]
  }
}
`
	if !strings.HasPrefix(mirrored, plain) || !strings.HasSuffix(mirrored, want) {
		t.Errorf("got\n%s", mirrored)
	}
}
