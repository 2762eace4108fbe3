package ociimage

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
)

// GoBuild is one `go build` of a static linux/amd64 executable with its version baked
// in through -X main.version.
type GoBuild struct {
	// Go is the go command; default "go".
	Go string
	// ModuleDir is where the build runs (the module root).
	ModuleDir string
	// Package is the package to build, e.g. "./examples/api".
	Package string
	// Version is baked in as main.version.
	Version string
	// Output is the executable's path.
	Output string
}

// Command is the build's command line, without running it.
func (b GoBuild) Command(ctx context.Context) *exec.Cmd {
	goCmd := b.Go
	if goCmd == "" {
		goCmd = "go"
	}
	cmd := exec.CommandContext(ctx, goCmd, "build", "-trimpath",
		"-ldflags", "-s -w -X main.version="+b.Version, "-o", b.Output, b.Package)
	cmd.Dir = b.ModuleDir
	// A static binary runs on an empty base image.
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	return cmd
}

// Run builds the executable; a failure carries the compiler's output.
func (b GoBuild) Run(ctx context.Context) error {
	if b.Package == "" || b.Output == "" || b.Version == "" {
		return fmt.Errorf("ociimage: GoBuild needs Package, Output and Version (got %q, %q, %q)", b.Package, b.Output, b.Version)
	}
	cmd := b.Command(ctx)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("ociimage: go build %s: %w: %s", b.Package, err, strings.TrimSpace(out.String()))
	}
	return nil
}
