// Package ociimage builds the sample API's container image as a real OCI image without
// Docker: a static Go binary and its SQL migrations, each in its own layer, on an empty
// base, with the entrypoint and command km-api's image has. The result is pushed to a
// registry (the local emulation's ECR registry in the rehearsal) and pinned by digest.
package ociimage

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Where things live inside the image; the sample API reads its migrations from the
// directory next to its executable.
const (
	BinaryPath    = "/app/api"
	MigrationsDir = "/app/migrations"
	DefaultPort   = 8000
)

// Migration is one SQL migration file shipped in the image.
type Migration struct {
	// Name is the file name, e.g. "0002_profile_bio.sql".
	Name string
	SQL  []byte
}

// Spec describes one image.
type Spec struct {
	// Binary is the path of the static executable to ship (see GoBuild).
	Binary string
	// Version is recorded as the image's org.opencontainers.image.version label.
	Version string
	// Migrations are shipped in MigrationsDir, in name order.
	Migrations []Migration
}

// epoch is the timestamp of every file and of the image, so the same inputs give the
// same digest.
var epoch = time.Unix(0, 0).UTC()

// Build assembles the image: layer 1 the binary, layer 2 the migrations.
func Build(spec Spec) (v1.Image, error) {
	if spec.Binary == "" {
		return nil, errors.New("ociimage: Spec.Binary is empty: build the executable first (GoBuild)")
	}
	bin, err := os.ReadFile(spec.Binary)
	if err != nil {
		return nil, fmt.Errorf("ociimage: read the executable: %w", err)
	}
	binLayer, err := layer([]file{{path: BinaryPath, mode: 0o755, data: bin}})
	if err != nil {
		return nil, err
	}
	migs := slices.Clone(spec.Migrations)
	slices.SortFunc(migs, func(a, b Migration) int { return strings.Compare(a.Name, b.Name) })
	files := make([]file, 0, len(migs))
	for _, m := range migs {
		if m.Name == "" || strings.ContainsAny(m.Name, "/\\") || !strings.HasSuffix(m.Name, ".sql") {
			return nil, fmt.Errorf("ociimage: migration name %q must be a plain NNNN_name.sql file name", m.Name)
		}
		files = append(files, file{path: path.Join(MigrationsDir, m.Name), mode: 0o644, data: m.SQL})
	}
	migLayer, err := layer(files)
	if err != nil {
		return nil, err
	}

	base := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	base = mutate.ConfigMediaType(base, types.OCIConfigJSON)
	img, err := mutate.AppendLayers(base, binLayer, migLayer)
	if err != nil {
		return nil, fmt.Errorf("ociimage: add layers: %w", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.Architecture, cf.OS = "amd64", "linux"
	cf.Created = v1.Time{Time: epoch}
	cf.Config.Entrypoint = []string{BinaryPath}
	cf.Config.Cmd = []string{"server"}
	cf.Config.WorkingDir = path.Dir(BinaryPath)
	cf.Config.Env = []string{"PATH=/usr/local/bin:/usr/bin:/bin"}
	cf.Config.ExposedPorts = map[string]struct{}{fmt.Sprintf("%d/tcp", DefaultPort): {}}
	cf.Config.Labels = map[string]string{"org.opencontainers.image.version": spec.Version}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		return nil, fmt.Errorf("ociimage: set the image configuration: %w", err)
	}
	return img, nil
}

type file struct {
	path string
	mode int64
	data []byte
}

// layer is a gzip layer holding files and their parent directories.
func layer(files []file) (v1.Layer, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dirs := map[string]bool{}
	for _, f := range files {
		var parents []string
		for d := path.Dir(f.path); d != "/" && !dirs[d]; d = path.Dir(d) {
			parents = append(parents, d)
			dirs[d] = true
		}
		slices.Reverse(parents)
		for _, d := range parents {
			if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: strings.TrimPrefix(d, "/") + "/", Mode: 0o755, ModTime: epoch, Format: tar.FormatPAX}); err != nil {
				return nil, err
			}
		}
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: strings.TrimPrefix(f.path, "/"), Mode: f.mode, Size: int64(len(f.data)), ModTime: epoch, Format: tar.FormatPAX}); err != nil {
			return nil, err
		}
		if _, err := tw.Write(f.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	data := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	}, tarball.WithMediaType(types.OCILayer))
}

// ReadMigrations reads the *.sql files of dir; names, when given, keep only those
// files (e.g. an older release's set) and must all exist.
func ReadMigrations(dir string, names ...string) ([]Migration, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("ociimage: read migrations: %w", err)
	}
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	var out []Migration
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".sql") || (len(names) > 0 && !want[e.Name()]) {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		out = append(out, Migration{Name: e.Name(), SQL: b})
		delete(want, e.Name())
	}
	if len(want) > 0 {
		missing := make([]string, 0, len(want))
		for n := range want {
			missing = append(missing, n)
		}
		slices.Sort(missing)
		return nil, fmt.Errorf("ociimage: migrations %s not found in %s", strings.Join(missing, ", "), dir)
	}
	return out, nil
}

// Push writes img to repository (REGISTRY/NAME) under tag and returns the reference
// pinned by digest (REGISTRY/NAME@sha256:...). insecure allows plain HTTP, for a
// loopback registry; auth nil pushes anonymously.
func Push(ctx context.Context, img v1.Image, repository, tag string, insecure bool, auth authn.Authenticator) (string, error) {
	var opts []name.Option
	if insecure {
		opts = append(opts, name.Insecure)
	}
	ref, err := name.NewTag(repository+":"+tag, opts...)
	if err != nil {
		return "", fmt.Errorf("ociimage: image reference %s:%s: %w", repository, tag, err)
	}
	if auth == nil {
		auth = authn.Anonymous
	}
	if err := remote.Write(ref, img, remote.WithContext(ctx), remote.WithAuth(auth)); err != nil {
		return "", fmt.Errorf("ociimage: push %s: %w", ref, err)
	}
	d, err := img.Digest()
	if err != nil {
		return "", err
	}
	return ref.Context().Name() + "@" + d.String(), nil
}
