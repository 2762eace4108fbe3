package rehearsal

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/google/go-containerregistry/pkg/authn"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/knowmetools/km-release/testrig/ociimage"
)

// release is one version of the sample API.
type release struct {
	Version string
	// Migrations are the shipped files: v1 0001, v2 0001+0002, v3 + a failing 0003.
	Migrations []ociimage.Migration
	img        v1.Image // assembled, not yet pushed
	Image      string   // pinned by digest once pushed
}

// failingMigration is v3's 0003: it alters a table that does not exist, so Postgres
// rejects it and the migration command exits non-zero.
var failingMigration = ociimage.Migration{
	Name: "0003_profile_photos.sql",
	SQL:  []byte("alter table profile_photos add column caption text not null default '';\n"),
}

// releases reads the sample API's migrations and describes v1, v2 and v3.
func releases(moduleDir string) ([]*release, error) {
	dir := filepath.Join(moduleDir, "examples", "api", "migrations")
	v1, err := ociimage.ReadMigrations(dir, "0001_initial.sql")
	if err != nil {
		return nil, err
	}
	v2, err := ociimage.ReadMigrations(dir, "0001_initial.sql", "0002_profile_bio.sql")
	if err != nil {
		return nil, err
	}
	return []*release{
		{Version: "v1", Migrations: v1},
		{Version: "v2", Migrations: v2},
		{Version: "v3", Migrations: append(append([]ociimage.Migration{}, v2...), failingMigration)},
	}, nil
}

// assemble compiles the API for r and assembles its image.
func assemble(ctx context.Context, moduleDir, workDir string, r *release) error {
	bin := filepath.Join(workDir, "api-"+r.Version)
	gb := ociimage.GoBuild{ModuleDir: moduleDir, Package: "./examples/api", Version: r.Version, Output: bin}
	if err := gb.Run(ctx); err != nil {
		return err
	}
	img, err := ociimage.Build(ociimage.Spec{Binary: bin, Version: r.Version, Migrations: r.Migrations})
	r.img = img
	return err
}

// push pushes the assembled image to repository, tagged with the version.
func (r *release) push(ctx context.Context, repository string, auth authn.Authenticator) error {
	ref, err := ociimage.Push(ctx, r.img, repository, r.Version, true, auth)
	r.Image = ref
	return err
}

// buildKMDeploy compiles the deploy tool the rehearsal drives.
func buildKMDeploy(ctx context.Context, moduleDir, out string) error {
	return runQuiet(ctx, moduleDir, nil, "go", "build", "-o", out, "./cmd/kmdeploy")
}

// buildWeb builds the sample web app for the environment's API URL into dir.
func buildWeb(ctx context.Context, moduleDir, apiURL, dir string) error {
	webDir := filepath.Join(moduleDir, "examples", "web")
	if _, err := os.Stat(filepath.Join(webDir, "node_modules", "esbuild")); err != nil {
		return fmt.Errorf("the web app's dependencies are not installed: run `cd examples/web && npm ci` first")
	}
	if _, err := exec.LookPath("node"); err != nil {
		return fmt.Errorf("node is not on PATH: install Node.js (20 or later) to build the web app")
	}
	return runQuiet(ctx, webDir, []string{"REACT_APP_API_ROOT=" + apiURL, "BUILD_DIR=" + dir}, "node", "build.mjs")
}

// runQuiet runs a build command; its output is shown only when it fails.
func runQuiet(ctx context.Context, dir string, env []string, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(out.String()))
	}
	return nil
}
