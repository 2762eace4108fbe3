//go:build dagger

// Engine-backed tests: they need a Dagger engine (v0.21.8) and its CLI, found through
// _EXPERIMENTAL_DAGGER_CLI_BIN or PATH (and _EXPERIMENTAL_DAGGER_RUNNER_HOST for an engine
// already running). Run them with `make test-dagger`.
//
// What `dagger call` runs is tested through the module itself (ci/main.go, served in the
// test's session): only the module's own functions share its cache volumes (caches.go), so
// the first `dagger call` after these tests finds their work done; and only through the
// module does an error reach the test as it reaches a user.
package pipeline

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"strconv"
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
	return c.Host().Directory("../..", dagger.HostDirectoryOpts{Exclude: SourceIgnore})
}

// serveModule loads this repository's module into the session, as `dagger call` does
// (the engine generates its bindings and compiles ci/), and installs its functions.
func serveModule(ctx context.Context, t *testing.T, c *dagger.Client) {
	t.Helper()
	if err := c.ModuleSource("../..").AsModule().Serve(ctx); err != nil {
		t.Fatalf("loading the module: %v", err)
	}
}

// call runs a GraphQL query against the served module; data receives the result.
func call(ctx context.Context, c *dagger.Client, query string, vars map[string]any, data any) error {
	return c.Do(ctx, &dagger.Request{Query: query, Variables: vars}, &dagger.Response{Data: data})
}

func TestEngineBuildAPISample(t *testing.T) {
	ctx, c, _ := connect(t)
	serveModule(ctx, t, c)
	var res struct {
		KmRelease struct {
			BuildApi struct{ ID dagger.ContainerID }
		}
	}
	if err := call(ctx, c, `{ kmRelease { buildApi(commit: "enginetest1") { id } } }`, nil, &res); err != nil {
		t.Fatalf("build-api: %v", err)
	}
	ctr := c.LoadContainerFromID(res.KmRelease.BuildApi.ID)
	bin, err := ctr.File("/app/api").Contents(ctx)
	if err != nil || len(bin) == 0 {
		t.Fatalf("the image has no API binary: %v", err)
	}
	// VERSION reaches the binary: the linker writes it into the file.
	if !strings.Contains(bin, "enginetest1") {
		t.Fatal("the commit given as VERSION is not baked into the binary")
	}
	if user, err := ctr.User(ctx); err != nil || user != "65532:65532" {
		t.Fatalf("the API must not run as root: user %q, %v", user, err)
	}
}

func TestEngineBuildWebSample(t *testing.T) {
	ctx, c, _ := connect(t)
	serveModule(ctx, t, c)
	const apiURL = "https://api.enginetest.example.com"
	var res struct {
		KmRelease struct {
			BuildWeb struct{ ID dagger.DirectoryID }
		}
	}
	if err := call(ctx, c, `query($url: String!) { kmRelease { buildWeb(env: "staging", apiUrl: $url) { id } } }`,
		map[string]any{"url": apiURL}, &res); err != nil {
		t.Fatalf("build-web: %v", err)
	}
	bundle := c.LoadDirectoryFromID(res.KmRelease.BuildWeb.ID)
	entries, err := bundle.Entries(ctx)
	if err != nil || !strings.Contains(strings.Join(entries, " "), "index.html") {
		t.Fatalf("bundle has no index.html: %v %v", entries, err)
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

func TestEngineTestAPIPassesOnSample(t *testing.T) {
	ctx, c, _ := connect(t)
	serveModule(ctx, t, c)
	if err := call(ctx, c, `{ kmRelease { testApi } }`, nil, nil); err != nil {
		t.Fatal(err)
	}
}

// A failure must reach the caller of a module function with the step, the command, its
// exit code and the end of its output, and a release's with its timeline.
func TestEngineFailuresExplainThemselves(t *testing.T) {
	ctx, c, _ := connect(t)
	serveModule(ctx, t, c)
	failingTest := repository(c).WithNewFile("examples/api/zz_deliberate_fail_test.go",
		"package main\n\nimport \"testing\"\n\nfunc TestDeliberatelyFails(t *testing.T) { t.Fatal(\"deliberate failure for the pipeline test\") }\n")
	id, err := failingTest.ID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	err = call(ctx, c, `query($src: ID!) { kmRelease(source: $src) { testApi } }`, map[string]any{"src": id}, nil)
	wantAll(t, "test-api", err,
		"test-api failed: go test -count=1 ./examples/api/... exited with code 1",
		"deliberate failure for the pipeline test")

	failingBuild := repository(c).WithNewFile("examples/api/Dockerfile",
		"FROM "+DefaultBaseImage+"\nRUN echo 'deliberate build failure' >&2; exit 3\n")
	src, err := failingBuild.ID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	akid, err := c.SetSecret("enginetest-akid", "AKIDENGINETEST").ID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sak, err := c.SetSecret("enginetest-sak", "enginetest-secret").ID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	err = call(ctx, c, `query($src: ID!, $akid: ID!, $sak: ID!) {
		kmRelease(source: $src, stateBucket: "km-enginetest", awsAccessKeyId: $akid, awsSecretAccessKey: $sak) { release(commit: "enginetest2") } }`,
		map[string]any{"src": src, "akid": akid, "sak": sak}, nil)
	wantAll(t, "release", err,
		"build-api failed: /bin/sh -c 'echo '\\''deliberate build failure'\\'' >&2; exit 3' exited with code 3",
		"deliberate build failure",
		"STEP", "tests (api, web)", "build api", "failed", "apply staging", "not run")
}

// wantAll checks that err says all of want.
func wantAll(t *testing.T, what string, err error, want ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: want a failure, got none", what)
	}
	var missing []string
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			missing = append(missing, w)
		}
	}
	if len(missing) > 0 {
		t.Errorf("%s: the error lacks %q; the caller saw:\n%v", what, missing, err)
	}
}

// The offline Terraform of the toolbox: providers from a filesystem mirror, kept in the
// plugin cache volume. Needs a mirror holding hashicorp/aws in the version infra/ accepts:
// KM_TF_PROVIDER_MIRROR=/path/to/mirror (the directory holding registry.terraform.io).
func TestEngineToolboxTerraformFromMirror(t *testing.T) {
	mirror := os.Getenv("KM_TF_PROVIDER_MIRROR")
	if mirror == "" {
		t.Skip("KM_TF_PROVIDER_MIRROR is not set")
	}
	ctx, c, _ := connect(t)
	serveModule(ctx, t, c)
	id, err := c.Host().Directory(mirror).ID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		KmRelease struct {
			Toolbox struct{ ID dagger.ContainerID }
		}
	}
	if err := call(ctx, c, `query($mirror: ID!) { kmRelease(tfProviderMirror: $mirror) { toolbox { id } } }`,
		map[string]any{"mirror": id}, &res); err != nil {
		t.Fatalf("toolbox: %v", err)
	}
	toolbox := c.LoadContainerFromID(res.KmRelease.Toolbox.ID).WithWorkdir(toolboxInfra).
		// Busts the engine's cache of these commands: init must really run each time.
		WithEnvVariable("ENGINE_TEST_RUN", time.Now().String())
	// Twice: the second init must take the provider from the cache volume, and link it.
	for i := range 2 {
		start := time.Now()
		out, err := toolbox.WithEnvVariable("ENGINE_TEST_INIT", strconv.Itoa(i)).
			WithExec([]string{"sh", "-c", "terraform init -backend=false -input=false -no-color && terraform validate -no-color && " +
				"readlink .terraform/providers/registry.terraform.io/hashicorp/aws/*/*"}).
			Stdout(ctx)
		if err != nil {
			t.Fatalf("terraform init/validate of infra/ in the toolbox (run %d): %v", i+1, stepError("terraform", err))
		}
		if !strings.Contains(out, "The configuration is valid.") || !strings.Contains(out, tfPluginCache+"/registry.terraform.io/hashicorp/aws/") {
			t.Fatalf("run %d: want a valid configuration, its provider linked from the plugin cache:\n%s", i+1, out)
		}
		if i == 1 && !strings.Contains(out, "from the shared cache directory") {
			t.Fatalf("the second init did not use the plugin cache:\n%s", out)
		}
		t.Logf("run %d, %s:", i+1, time.Since(start).Round(time.Millisecond))
		for _, line := range strings.Split(out, "\n") {
			if strings.Contains(line, "hashicorp/aws") || strings.Contains(line, "valid") {
				t.Log("  " + line)
			}
		}
	}
}

// A fake kmdeploy that behaves like a careless tool: it prints the secret's value on stdout
// and stderr. Its checksums prove that the values arrived intact without showing them.
// ecr-login prints only the password on stdout, as the real one does, and diagnostics on
// stderr; the password derives from no secret the engine knows, so nothing masks it, and is
// joined at run time, so that the script (which the engine logs) does not show it.
const fakeKmdeploy = `#!/bin/sh
echo "args: $*" >&2
echo "secret key: $AWS_SECRET_ACCESS_KEY" >&2
if [ "$1" = ecr-login ]; then printf '%s-%s\n' registry-password 2f9d41; exit 0; fi
echo "secret key: $AWS_SECRET_ACCESS_KEY"
echo "secret key sha256: $(printf '%s' "$AWS_SECRET_ACCESS_KEY" | sha256sum | cut -d' ' -f1)"
echo "tf var sha256: $(printf '%s' "$TF_VAR_admin_password" | sha256sum | cut -d' ' -f1)"
`

const fakeRegistryPassword = "registry-password-2f9d41"

func TestEngineSecretNeverVisible(t *testing.T) {
	const plaintext = "pipeline-test-secret-7c1f9a"
	const tfVar = plaintext + "-tf"
	// Set before connecting: env:// secrets are read from the CLI's environment.
	t.Setenv("TF_VAR_admin_password", tfVar)
	ctx, c, logs := connect(t)
	// What a failure message shows of what the test got: never the secrets themselves.
	mask := strings.NewReplacer(tfVar, "<TF_VAR_admin_password>", plaintext, "<AWS_SECRET_ACCESS_KEY>").Replace
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

	// The secrets reach kmdeploy as variables, intact, and the engine scrubs them from its
	// output.
	out, err := d.Status(ctx)
	if err != nil {
		t.Fatalf("status: %v", mask(err.Error()))
	}
	for _, want := range []string{
		"secret key sha256: " + sha256Hex(plaintext),
		"tf var sha256: " + sha256Hex(tfVar),
		"secret key: ***",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("kmdeploy's stdout lacks %q; it was (secrets masked by the test):\n%s", want, mask(out))
		}
	}

	// The registry password comes back exactly as printed, as a secret, and is never logged.
	password, err := d.RegistryPassword(ctx, c)
	if err != nil {
		t.Fatalf("registry password: %v", mask(err.Error()))
	}
	got, err := password.Plaintext(ctx)
	if err != nil {
		t.Fatalf("reading the registry password secret: %v", err)
	}
	if got != fakeRegistryPassword {
		t.Errorf("registry password: got %q, want %q", mask(got), fakeRegistryPassword)
	}

	// The progress output does carry the commands' output: the scrubbed line proves it.
	// It reaches the log a moment after the call returns: wait for it, briefly.
	log := logs.String()
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(log, "secret key: ***") && time.Now().Before(deadline); {
		time.Sleep(100 * time.Millisecond)
		log = logs.String()
	}
	if !strings.Contains(log, "secret key: ***") {
		t.Errorf("the engine's log lacks kmdeploy's scrubbed output; it was (secrets masked by the test):\n%s", mask(log))
	}
	for where, text := range map[string]string{"stdout": out, "the engine's log": log} {
		for name, secret := range map[string]string{"AWS_SECRET_ACCESS_KEY": plaintext, "TF_VAR_admin_password": tfVar, "the registry password": fakeRegistryPassword} {
			for _, line := range strings.Split(text, "\n") {
				if strings.Contains(line, secret) {
					t.Errorf("%s is visible in %s (masked here by the test): %s", name, where,
						strings.ReplaceAll(mask(line), fakeRegistryPassword, "<registry password>"))
				}
			}
		}
	}
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
