//go:build dagger

// Engine-backed tests: they need a Dagger engine (v0.21.8) and its CLI, found through
// _EXPERIMENTAL_DAGGER_CLI_BIN or PATH (and _EXPERIMENTAL_DAGGER_RUNNER_HOST for an engine
// already running). Run them with `make test-dagger`.
package pipeline

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"dagger.io/dagger"
)

// syncBuffer collects the engine's progress output, where a leaked secret would show.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func connect(t *testing.T) (context.Context, *dagger.Client, *syncBuffer) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	t.Cleanup(cancel)
	logs := &syncBuffer{}
	c, err := dagger.Connect(ctx, dagger.WithLogOutput(logs))
	if err != nil {
		t.Fatalf("connecting to a Dagger engine: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return ctx, c, logs
}

// repository is this repository, as the module's +defaultPath gives it.
func repository(c *dagger.Client) *dagger.Directory {
	return c.Host().Directory("../..", dagger.HostDirectoryOpts{
		Exclude: []string{".git", "**/node_modules", "**/.terraform", "bin", "dist", ".rehearsal"},
	})
}

func TestEngineBuildAPISample(t *testing.T) {
	ctx, c, _ := connect(t)
	ctr, err := BuildAPI(ctx, Source{Dir: repository(c), Path: SampleAPIPath}, "enginetest1")
	if err != nil {
		t.Fatal(err)
	}
	ctr, err = ctr.Sync(ctx)
	if err != nil {
		t.Fatalf("build-api: %v", stepError("build-api", err))
	}
	size, err := ctr.File("/app/api").Size(ctx)
	if err != nil || size == 0 {
		t.Fatalf("the image has no API binary: size %d, %v", size, err)
	}
	// VERSION reaches the binary: the linker writes it into the file.
	bin, err := ctr.File("/app/api").Contents(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(bin, "enginetest1") {
		t.Fatal("the commit given as VERSION is not baked into the binary")
	}
}

func TestEngineBuildWebSample(t *testing.T) {
	ctx, c, _ := connect(t)
	const apiURL = "https://api.enginetest.example.com"
	bundle, err := BuildWeb(ctx, c, Source{Dir: repository(c), Path: SampleWebPath}, DefaultImages(), apiURL)
	if err != nil {
		t.Fatal(err)
	}
	entries, err := bundle.Entries(ctx)
	if err != nil {
		t.Fatalf("build-web: %v", stepError("build-web", err))
	}
	if !strings.Contains(strings.Join(entries, " "), "index.html") {
		t.Fatalf("bundle has no index.html: %v", entries)
	}
	assets, err := bundle.Glob(ctx, "static/*.js")
	if err != nil || len(assets) == 0 {
		t.Fatalf("no JavaScript assets: %v %v", assets, err)
	}
	js, err := bundle.File(assets[0]).Contents(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(js, apiURL) {
		t.Fatalf("the API URL is not baked into %s", assets[0])
	}
}

func TestEngineTestAPIFailsOnFailingTest(t *testing.T) {
	ctx, c, _ := connect(t)
	repo := repository(c).WithNewFile("examples/api/zz_deliberate_fail_test.go",
		"package main\n\nimport \"testing\"\n\nfunc TestDeliberatelyFails(t *testing.T) { t.Fatal(\"deliberate failure for the pipeline test\") }\n")
	err := RunCheck(ctx, "test-api", func() (*dagger.Container, error) {
		return TestAPI(ctx, c, Source{Dir: repo, Path: SampleAPIPath}, DefaultImages())
	})
	var se *StepError
	if !errors.As(err, &se) {
		t.Fatalf("want a StepError from a failing test, got %v", err)
	}
	if se.ExitCode == 0 || !strings.Contains(se.Output, "deliberate failure for the pipeline test") {
		t.Fatalf("the error must show the failing test's output:\n%v", err)
	}
}

func TestEngineTestAPIPassesOnSample(t *testing.T) {
	ctx, c, _ := connect(t)
	err := RunCheck(ctx, "test-api", func() (*dagger.Container, error) {
		return TestAPI(ctx, c, Source{Dir: repository(c), Path: SampleAPIPath}, DefaultImages())
	})
	if err != nil {
		t.Fatal(err)
	}
}

// A fake kmdeploy that prints what it received: the secret must arrive, and never be seen.
const fakeKmdeploy = `#!/bin/sh
echo "args: $*"
echo "secret key length: ${#AWS_SECRET_ACCESS_KEY}"
echo "secret key: $AWS_SECRET_ACCESS_KEY"
echo "tf var: $TF_VAR_admin_password"
if [ "$1" = ecr-login ]; then printf '%s' "$AWS_SECRET_ACCESS_KEY-registry"; fi
`

func TestEngineSecretNeverVisible(t *testing.T) {
	const plaintext = "pipeline-test-secret-7c1f9a"
	// Set before connecting: env:// secrets are read from the CLI's environment.
	t.Setenv("TF_VAR_admin_password", plaintext+"-tf")
	ctx, c, logs := connect(t)
	toolbox := c.Container().From(DefaultBaseImage).
		WithNewFile("/usr/local/bin/kmdeploy", fakeKmdeploy, dagger.ContainerWithNewFileOpts{Permissions: 0o755})
	d := Deployer{
		Toolbox: toolbox,
		Env:     Environment{Name: "staging", Region: "eu-west-1", StateBucket: "km-state"},
		Creds: Credentials{
			AccessKeyID:     c.SetSecret("akid", "AKIDPIPELINETEST"),
			SecretAccessKey: c.SetSecret("sak", plaintext),
			TFVars:          []*dagger.Secret{c.Secret("env://TF_VAR_admin_password")},
		},
	}
	out, err := d.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "args: status") || !strings.Contains(out, "secret key length: 27") {
		t.Fatalf("the fake kmdeploy did not get the secret as a variable:\n%s", out)
	}
	password, err := d.RegistryPassword(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := password.Plaintext(ctx); err != nil || got != plaintext+"-registry" {
		t.Fatalf("registry password: %v", err)
	}
	for where, text := range map[string]string{"stdout": out, "engine logs": logs.String()} {
		if strings.Contains(text, plaintext) {
			t.Errorf("a secret is visible in %s", where)
		}
	}
}
