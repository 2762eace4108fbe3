package main

import (
	"archive/zip"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestBuildCommand(t *testing.T) {
	cmd := buildCommand(context.Background(), "go", "/src", Target{Function: "migrate", Arch: "arm64"}, "/tmp/x/bootstrap")
	want := []string{"go", "build", "-trimpath", "-buildvcs=false", "-tags", "lambda.norpc", "-ldflags", "-s -w -buildid=", "-o", "/tmp/x/bootstrap", "./lambdas/migrate"}
	if !reflect.DeepEqual(cmd.Args, want) {
		t.Errorf("argv = %q", cmd.Args)
	}
	if cmd.Dir != "/src" {
		t.Errorf("dir = %q", cmd.Dir)
	}
	env := strings.Join(cmd.Env[len(cmd.Env)-4:], " ")
	if env != "GOOS=linux GOARCH=arm64 CGO_ENABLED=0 GOFLAGS=" {
		t.Errorf("env tail = %q", env)
	}
}

func TestParseTargets(t *testing.T) {
	ts, err := parseTargets("migrate, jobs", "arm64,x86_64")
	if err != nil || len(ts) != 4 || ts[3] != (Target{"jobs", "x86_64"}) {
		t.Errorf("targets = %v, %v", ts, err)
	}
	for _, bad := range [][2]string{{"migrate", "386"}, {"migrate", "amd64"}, {"../x", "arm64"}, {"", "x86_64"}} {
		if _, err := parseTargets(bad[0], bad[1]); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}

func TestZipIsReproducibleAndRunnable(t *testing.T) {
	root, err := filepath.Abs("../../..")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	target := Target{Function: "jobs", Arch: "x86_64"}
	var zips [][]byte
	for i := 0; i < 2; i++ {
		dir := t.TempDir()
		path, size, err := Build(ctx, "go", root, dir, target)
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if int64(len(b)) != size || filepath.Base(path) != "jobs-x86_64.zip" {
			t.Errorf("path %s size %d, read %d", path, size, len(b))
		}
		zips = append(zips, b)
	}
	if !bytes.Equal(zips[0], zips[1]) {
		t.Fatal("two builds of the same sources gave different zips")
	}
	t.Logf("jobs-x86_64.zip: %d bytes", len(zips[0]))

	zr, err := zip.NewReader(bytes.NewReader(zips[0]), int64(len(zips[0])))
	if err != nil {
		t.Fatal(err)
	}
	if len(zr.File) != 1 || zr.File[0].Name != "bootstrap" || zr.File[0].Mode().Perm() != 0o755 || !zr.File[0].Modified.Equal(zipTime) {
		f := zr.File[0]
		t.Fatalf("entry %s mode %v modified %v (of %d)", f.Name, f.Mode(), f.Modified, len(zr.File))
	}
	rc, err := zr.File[0].Open()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	head := make([]byte, 20)
	if _, err := rc.Read(head); err != nil {
		t.Fatal(err)
	}
	// ELF, 64-bit, little endian, x86-64 machine (0x3e).
	if !bytes.Equal(head[:4], []byte("\x7fELF")) || head[4] != 2 || head[18] != 0x3e {
		t.Errorf("bootstrap is not a linux/amd64 ELF: % x", head)
	}
}
