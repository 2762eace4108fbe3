package main

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// Target is one function built for one architecture.
type Target struct {
	Function string // directory under lambdas/
	Arch     string // Lambda's name of the architecture: arm64 or x86_64
}

// goArch maps Lambda's architecture names (what infra/'s lambda_architecture takes, and
// so what the zip names say) to GOARCH.
var goArch = map[string]string{"arm64": "arm64", "x86_64": "amd64"}

// ZipName is the file the target is packaged into: infra/lambdas.tf reads
// <function>-<lambda_architecture>.zip.
func (t Target) ZipName() string { return t.Function + "-" + t.Arch + ".zip" }

// Package is the Go package of the target, relative to the module root.
func (t Target) Package() string { return "./lambdas/" + t.Function }

// zipTime is the fixed modification time of every zip entry: the zip format's earliest
// date, so no build's wall clock leaks into the bytes.
var zipTime = time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)

// buildCommand is the go build of the target's bootstrap binary, for the provided.al2023
// runtime: static, stripped, without paths, build ID or VCS stamp that vary between
// machines and commits, and without the legacy RPC runtime (lambda.norpc).
func buildCommand(ctx context.Context, goBin, moduleRoot string, t Target, out string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, goBin, "build",
		"-trimpath",
		"-buildvcs=false",
		"-tags", "lambda.norpc",
		"-ldflags", "-s -w -buildid=",
		"-o", out,
		t.Package(),
	)
	cmd.Dir = moduleRoot
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH="+goArch[t.Arch], "CGO_ENABLED=0", "GOFLAGS=")
	return cmd
}

// writeZip packages binary as the single entry "bootstrap", executable, with fixed
// metadata, so equal binaries give equal zips.
func writeZip(w io.Writer, binary []byte) error {
	zw := zip.NewWriter(w)
	h := &zip.FileHeader{Name: "bootstrap", Method: zip.Deflate, Modified: zipTime}
	h.SetMode(0o755)
	f, err := zw.CreateHeader(h)
	if err != nil {
		return err
	}
	if _, err := f.Write(binary); err != nil {
		return err
	}
	return zw.Close()
}

// Build compiles the target in a temporary directory and writes its zip into outDir,
// replacing any earlier one atomically. It returns the zip's path and size.
func Build(ctx context.Context, goBin, moduleRoot, outDir string, t Target) (string, int64, error) {
	tmp, err := os.MkdirTemp("", "lambdazip-")
	if err != nil {
		return "", 0, err
	}
	defer os.RemoveAll(tmp)
	bin := filepath.Join(tmp, "bootstrap")
	cmd := buildCommand(ctx, goBin, moduleRoot, t, bin)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	if err := cmd.Run(); err != nil {
		return "", 0, fmt.Errorf("build %s for %s: %w\n%s", t.Function, t.Arch, err, stderr.String())
	}
	binary, err := os.ReadFile(bin)
	if err != nil {
		return "", 0, err
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return "", 0, err
	}
	dst := filepath.Join(outDir, t.ZipName())
	part, err := os.CreateTemp(outDir, ".tmp-"+t.ZipName())
	if err != nil {
		return "", 0, err
	}
	defer os.Remove(part.Name())
	if err := writeZip(part, binary); err != nil {
		part.Close()
		return "", 0, fmt.Errorf("write %s: %w", dst, err)
	}
	if err := part.Close(); err != nil {
		return "", 0, err
	}
	if err := os.Chmod(part.Name(), 0o644); err != nil {
		return "", 0, err
	}
	if err := os.Rename(part.Name(), dst); err != nil {
		return "", 0, err
	}
	st, err := os.Stat(dst)
	if err != nil {
		return "", 0, err
	}
	return dst, st.Size(), nil
}
