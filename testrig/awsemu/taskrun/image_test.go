package taskrun

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/registry"

	"github.com/knowmetools/km-release/testrig/ociimage"
)

// A tag pushed again must run the new image, as ECS resolves the tag at task start.
func TestImageCacheFollowsRetaggedImage(t *testing.T) {
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	repo := strings.TrimPrefix(srv.URL, "http://") + "/app"
	bin := filepath.Join(t.TempDir(), "bin")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	cache := newImageCache(t.TempDir())
	for _, version := range []string{"a", "b"} {
		img, err := ociimage.Build(ociimage.Spec{Binary: bin, Version: version})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ociimage.Push(ctx, img, repo, "latest", true, nil); err != nil {
			t.Fatal(err)
		}
		u, err := cache.get(ctx, repo+":latest")
		if err != nil {
			t.Fatal(err)
		}
		if got := u.config.Labels["org.opencontainers.image.version"]; got != version {
			t.Errorf("after pushing version %s as :latest the cache runs version %q", version, got)
		}
	}
}

// A symlink in an image must not let a later entry write outside the unpack directory.
func TestUntarStaysInsideDirectory(t *testing.T) {
	outside := t.TempDir()
	for name, link := range map[string]string{"absolute": outside, "relative": "../../../../../../../../" + outside} {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			tw := tar.NewWriter(&buf)
			entries := []struct {
				h    tar.Header
				data string
			}{
				{tar.Header{Typeflag: tar.TypeReg, Name: "app/ok", Mode: 0o644, Size: 2}, "ok"},
				{tar.Header{Typeflag: tar.TypeSymlink, Name: "escape", Linkname: link}, ""},
				{tar.Header{Typeflag: tar.TypeReg, Name: "escape/pwned", Mode: 0o644, Size: 3}, "bad"},
			}
			for _, e := range entries {
				if err := tw.WriteHeader(&e.h); err != nil {
					t.Fatal(err)
				}
				if _, err := tw.Write([]byte(e.data)); err != nil {
					t.Fatal(err)
				}
			}
			if err := tw.Close(); err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			if err := untar(&buf, dir); err == nil {
				t.Error("untar wrote through a symlink that leaves the directory, want an error")
			}
			if _, err := os.Stat(filepath.Join(outside, "pwned")); err == nil {
				t.Fatalf("untar wrote %s outside its directory", filepath.Join(outside, "pwned"))
			}
			if b, err := os.ReadFile(filepath.Join(dir, "app", "ok")); err != nil || string(b) != "ok" {
				t.Errorf("app/ok = %q, %v; want the regular file unpacked", b, err)
			}
		})
	}
}
