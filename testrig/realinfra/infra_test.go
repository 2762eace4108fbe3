package realinfra_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/knowmetools/km-release/testrig/awsemu/emutest"
	"github.com/knowmetools/km-release/testrig/realinfra"
)

func TestMain(m *testing.M) { emutest.Main(m) }

var (
	prepOnce sync.Once
	prepared *realinfra.Copy
	prepErr  error
)

// infra is the test binary's copy of infra/, initialised without a backend.
func infra(t *testing.T) *realinfra.Copy {
	t.Helper()
	prepOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		root, err := realinfra.ModuleRoot(".")
		if err != nil {
			prepErr = err
			return
		}
		work, err := os.MkdirTemp("", "realinfra-")
		if err != nil {
			prepErr = err
			return
		}
		if prepared, prepErr = realinfra.Prepare(ctx, root, work); prepErr == nil {
			_, prepErr = terraform(ctx, prepared, nil, "init", "-backend=false", "-input=false")
		}
	})
	if prepErr != nil {
		t.Fatalf("prepare infra/: %v", prepErr)
	}
	return prepared
}

func terraform(ctx context.Context, c *realinfra.Copy, env []string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "terraform", append([]string{"-chdir=" + c.Dir}, args...)...)
	cmd.Env = append(append(append(os.Environ(), c.Env...), env...), "TF_IN_AUTOMATION=1", "NO_COLOR=1")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

func TestInfraValidates(t *testing.T) {
	c := infra(t)
	if out, err := terraform(t.Context(), c, nil, "validate", "-no-color"); err != nil {
		t.Fatalf("terraform validate: %v\n%s", err, out)
	}
}

// TestInfraTerraformTests runs infra/tests/<workspace>/*.tftest.hcl in that workspace,
// with the real AWS provider planning against the emulation (its data sources and the
// ephemeral password generator answer there; the files override the rest).
func TestInfraTerraformTests(t *testing.T) {
	c := infra(t)
	emu := emutest.Start(t)
	dirs, err := os.ReadDir(filepath.Join(c.Dir, "tests"))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dirs {
		if !d.IsDir() {
			continue
		}
		t.Run(d.Name(), func(t *testing.T) {
			t.Parallel() // each workspace's plans are independent
			env := append(emu.Env(), "TF_WORKSPACE="+d.Name())
			out, err := terraform(t.Context(), c, env, "test", "-no-color", "-test-directory=tests/"+d.Name(), "-var", "lambda_dist_dir="+c.LambdaDir)
			if err != nil {
				t.Fatalf("terraform test in workspace %s: %v\n%s", d.Name(), err, out)
			}
			t.Logf("%s", out)
		})
	}
}
