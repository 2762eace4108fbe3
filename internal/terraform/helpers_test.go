package terraform_test

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/knowmetools/km-release/internal/terraform"
)

// fixture is a copy of testdata/basic with its own HOME, plugin cache, CLI config
// and local state directory, so tests never share Terraform state or reach a
// registry.
type fixture struct {
	dir      string
	stateDir string
	env      map[string]string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	root := t.TempDir()
	dir := filepath.Join(root, "infra")
	if err := os.CopyFS(dir, os.DirFS("testdata/basic")); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"home", "plugin-cache", "state"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	cliConfig := filepath.Join(root, "terraformrc")
	if err := os.WriteFile(cliConfig, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	return &fixture{
		dir:      dir,
		stateDir: filepath.Join(root, "state"),
		env: map[string]string{
			"PATH":                os.Getenv("PATH"),
			"HOME":                filepath.Join(root, "home"),
			"TF_PLUGIN_CACHE_DIR": filepath.Join(root, "plugin-cache"),
			"TF_CLI_CONFIG_FILE":  cliConfig,
			"CHECKPOINT_DISABLE":  "1",
		},
	}
}

// runner builds a runner for workspace ws with the given variables; progress goes
// to the test log.
func (f *fixture) runner(t *testing.T, ws string, vars map[string]string) *terraform.Runner {
	t.Helper()
	env := map[string]string{}
	for k, v := range f.env {
		env[k] = v
	}
	for k, v := range vars {
		env["TF_VAR_"+k] = v
	}
	r, err := terraform.New(terraform.Options{
		Dir:         f.dir,
		Workspace:   ws,
		Backend:     terraform.Backend{Kind: "local", LocalDir: f.stateDir},
		Env:         env,
		LockTimeout: 10 * time.Second,
		Progress:    testWriter{t},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return c
}

type testWriter struct{ t *testing.T }

var logMu sync.Mutex

func (w testWriter) Write(p []byte) (int, error) {
	logMu.Lock()
	defer logMu.Unlock()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

var _ io.Writer = testWriter{}

func outputString(t *testing.T, r *terraform.Runner, name string) string {
	t.Helper()
	outs, err := r.Outputs(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	return string(outs[name].Value)
}
