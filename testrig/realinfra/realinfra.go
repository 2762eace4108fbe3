// Package realinfra prepares the repository's real infra/ for Terraform runs against
// the local AWS emulation: a verbatim copy in a work directory (so runs never write
// into the repository and never share a .terraform directory), the Lambda zips it
// reads, built by the project's own packager, and the environment that installs the
// real AWS provider from a local mirror when the machine has one.
package realinfra

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/knowmetools/km-release/testrig/tfmirror"
)

// Copy is a prepared copy of infra/.
type Copy struct {
	// Dir holds the copy of infra/ (with its tests/).
	Dir string
	// LambdaDir holds <function>-<architecture>.zip for every function and
	// architecture, as `make lambdas` writes them (the lambda_dist_dir variable).
	LambdaDir string
	// Env is what Terraform needs besides the AWS settings: the CLI configuration
	// that selects the provider mirror, when there is one.
	Env []string
}

// Prepare copies root/infra into work/infra and builds the Lambda zips into
// work/lambdas.
func Prepare(ctx context.Context, root, work string) (*Copy, error) {
	c, err := CopyConfig(root, work)
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, "go", "run", "./internal/tools/lambdazip", "-out", c.LambdaDir)
	cmd.Dir = root
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("build the Lambda zips: %w\n%s", err, out.String())
	}
	return c, nil
}

// CopyConfig copies root/infra into work/infra without building the Lambda zips:
// enough to read a workspace's outputs, not to apply.
func CopyConfig(root, work string) (*Copy, error) {
	c := &Copy{Dir: filepath.Join(work, "infra"), LambdaDir: filepath.Join(work, "lambdas")}
	if err := os.CopyFS(c.Dir, os.DirFS(filepath.Join(root, "infra"))); err != nil {
		return nil, fmt.Errorf("copy infra/: %w", err)
	}
	// Whatever a Terraform run in the repository left behind is not part of infra/.
	for _, leftover := range []string{".terraform", ".terraform.lock.hcl"} {
		if err := os.RemoveAll(filepath.Join(c.Dir, leftover)); err != nil {
			return nil, err
		}
	}
	matches, _ := filepath.Glob(filepath.Join(c.Dir, "kmdeploy_*_override.tf"))
	for _, m := range matches {
		os.Remove(m)
	}
	env, err := tfmirror.Env(work)
	if err != nil {
		return nil, err
	}
	c.Env = env
	return c, nil
}

// ModuleRoot finds the repository root (the directory of go.mod) from dir upwards.
func ModuleRoot(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("no go.mod above %s", dir)
		}
	}
}
