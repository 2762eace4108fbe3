package ociimage

import (
	"archive/tar"
	"context"
	"errors"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

func TestGoBuildCommand(t *testing.T) {
	cmd := GoBuild{Go: "/usr/bin/go", ModuleDir: "/src", Package: "./examples/api", Version: "abc123", Output: "/out/api"}.Command(context.Background())
	want := []string{"/usr/bin/go", "build", "-trimpath", "-ldflags", "-s -w -X main.version=abc123", "-o", "/out/api", "./examples/api"}
	if !slices.Equal(cmd.Args, want) {
		t.Errorf("argv = %q, want %q", cmd.Args, want)
	}
	if cmd.Dir != "/src" {
		t.Errorf("dir = %q, want /src", cmd.Dir)
	}
	for _, kv := range []string{"CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64"} {
		if !slices.Contains(cmd.Env, kv) {
			t.Errorf("env lacks %s", kv)
		}
	}
}

func TestGoBuildRunBakesVersion(t *testing.T) {
	out := filepath.Join(t.TempDir(), "hello")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := (GoBuild{Package: "./testdata/hello", Version: "v9", Output: out}).Run(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := exec.Command(out).Output()
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(string(got)) != "hello v9" {
		t.Errorf("built binary printed %q, want %q", got, "hello v9")
	}
	err = (GoBuild{Package: "./testdata/missing", Version: "v9", Output: out}).Run(ctx)
	if err == nil || !strings.Contains(err.Error(), "testdata/missing") {
		t.Errorf("building a missing package: error %v should name it", err)
	}
}

func fakeBinary(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "api")
	if err := os.WriteFile(p, []byte("\x7fELF fake"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestBuildLayoutAndConfig(t *testing.T) {
	spec := Spec{Binary: fakeBinary(t), Version: "v2", Migrations: []Migration{
		{Name: "0002_b.sql", SQL: []byte("select 2;")}, {Name: "0001_a.sql", SQL: []byte("select 1;")},
	}}
	img, err := Build(spec)
	if err != nil {
		t.Fatal(err)
	}
	mt, _ := img.MediaType()
	if mt != types.OCIManifestSchema1 {
		t.Errorf("manifest media type %s, want OCI", mt)
	}
	layers, _ := img.Layers()
	if len(layers) != 2 {
		t.Fatalf("%d layers, want binary + migrations", len(layers))
	}
	cf, _ := img.ConfigFile()
	if !slices.Equal(cf.Config.Entrypoint, []string{"/app/api"}) || !slices.Equal(cf.Config.Cmd, []string{"server"}) {
		t.Errorf("entrypoint %q cmd %q, want [/app/api] [server]", cf.Config.Entrypoint, cf.Config.Cmd)
	}
	if cf.Config.Labels["org.opencontainers.image.version"] != "v2" || cf.OS != "linux" {
		t.Errorf("config %+v lacks version label or os", cf.Config)
	}

	files := map[string]*tar.Header{}
	var order []string
	tr := tar.NewReader(mutate.Extract(img))
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		files[h.Name] = h
		order = append(order, h.Name)
	}
	if h := files["app/api"]; h == nil || h.Mode&0o111 == 0 {
		t.Errorf("app/api missing or not executable: %+v", h)
	}
	for _, want := range []string{"app/migrations/0001_a.sql", "app/migrations/0002_b.sql", "app/migrations"} {
		if files[want] == nil {
			t.Errorf("image lacks %s (has %q)", want, order)
		}
	}

	again, err := Build(spec)
	if err != nil {
		t.Fatal(err)
	}
	d1, _ := img.Digest()
	d2, _ := again.Digest()
	if d1 != d2 {
		t.Errorf("same inputs gave digests %s and %s; builds must be reproducible", d1, d2)
	}
}

func TestBuildRejectsBadInput(t *testing.T) {
	if _, err := Build(Spec{}); err == nil || !strings.Contains(err.Error(), "GoBuild") {
		t.Errorf("no binary: error %v should say to build it", err)
	}
	if _, err := Build(Spec{Binary: fakeBinary(t), Migrations: []Migration{{Name: "../x.sql"}}}); err == nil {
		t.Error("a migration name with a path was accepted")
	}
}

func TestPushPinsDigest(t *testing.T) {
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	img, err := Build(Spec{Binary: fakeBinary(t), Version: "v1"})
	if err != nil {
		t.Fatal(err)
	}
	repo := strings.TrimPrefix(srv.URL, "http://") + "/knowme/api"
	ref, err := Push(context.Background(), img, repo, "v1", true, nil)
	if err != nil {
		t.Fatal(err)
	}
	d, _ := img.Digest()
	if ref != repo+"@"+d.String() {
		t.Errorf("pushed reference %s, want %s@%s", ref, repo, d)
	}
	parsed, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	pulled, err := remote.Image(parsed)
	if err != nil {
		t.Fatal(err)
	}
	if pd, _ := pulled.Digest(); pd != d {
		t.Errorf("pulled digest %s, want %s", pd, d)
	}
	if _, err := Push(context.Background(), img, "not a repo", "v1", true, nil); err == nil {
		t.Error("an invalid repository was accepted")
	}
}

func TestReadMigrations(t *testing.T) {
	dir := filepath.Join("..", "..", "examples", "api", "migrations")
	all, err := ReadMigrations(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) < 2 {
		t.Fatalf("read %d migrations from %s, want at least 2", len(all), dir)
	}
	one, err := ReadMigrations(dir, "0001_initial.sql")
	if err != nil || len(one) != 1 {
		t.Fatalf("ReadMigrations(0001) = %d, %v", len(one), err)
	}
	if _, err := ReadMigrations(dir, "9999_nope.sql"); err == nil || !strings.Contains(err.Error(), "9999_nope.sql") {
		t.Errorf("missing migration: error %v should name it", err)
	}
}
