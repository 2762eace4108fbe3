package taskrun

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// unpacked is an image's filesystem on disk and its configuration.
type unpacked struct {
	root   string
	config v1.Config
}

// imageCache pulls and unpacks each image digest once. A reference is resolved to its
// digest on every get, as ECS does at task start, so a tag pushed again runs the new image.
type imageCache struct {
	dir string

	mu      sync.Mutex
	entries map[string]*cacheEntry // by manifest digest
}

type cacheEntry struct {
	once sync.Once
	img  *unpacked
	err  error
}

func newImageCache(dir string) *imageCache {
	return &imageCache{dir: dir, entries: map[string]*cacheEntry{}}
}

// get returns the unpacked image of ref. A failed pull is retried by the next task.
func (c *imageCache) get(ctx context.Context, ref string) (*unpacked, error) {
	// The emulation's registry speaks plain HTTP on loopback.
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		return nil, fmt.Errorf("invalid image reference: %w", err)
	}
	desc, err := remote.Head(r, remote.WithContext(ctx))
	if err != nil {
		return nil, err
	}
	key := desc.Digest.String()
	c.mu.Lock()
	e, ok := c.entries[key]
	if !ok {
		e = &cacheEntry{}
		c.entries[key] = e
	}
	c.mu.Unlock()
	e.once.Do(func() { e.img, e.err = c.pull(ctx, r.Context().Digest(key)) })
	if e.err != nil {
		c.mu.Lock()
		if c.entries[key] == e {
			delete(c.entries, key)
		}
		c.mu.Unlock()
	}
	return e.img, e.err
}

// pull fetches the image ref (pinned by digest) and unpacks it under the cache's dir.
func (c *imageCache) pull(ctx context.Context, ref name.Digest) (*unpacked, error) {
	img, err := remote.Image(ref, remote.WithContext(ctx))
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("read image configuration: %w", err)
	}
	digest, err := v1.NewHash(ref.DigestStr())
	if err != nil {
		return nil, err
	}
	root := filepath.Join(c.dir, digest.Hex)
	if _, err := os.Stat(root); err == nil {
		return &unpacked{root: root, config: cf.Config}, nil // unpacked into a reused WorkDir before
	}
	tmp, err := os.MkdirTemp(c.dir, "unpack-")
	if err != nil {
		return nil, err
	}
	rc := mutate.Extract(img)
	defer rc.Close()
	if err := untar(rc, tmp); err != nil {
		os.RemoveAll(tmp)
		return nil, fmt.Errorf("unpack image: %w", err)
	}
	if err := os.Rename(tmp, root); err != nil {
		os.RemoveAll(tmp)
		return nil, err
	}
	return &unpacked{root: root, config: cf.Config}, nil
}

// untar writes a flattened image filesystem under dir. Every write goes through an
// os.Root, so neither a path nor a symlink in the image can reach outside dir.
func untar(r io.Reader, dir string) error {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		target := strings.TrimPrefix(path.Clean("/"+h.Name), "/")
		if target == "" {
			continue
		}
		if parent := path.Dir(target); parent != "." {
			if err := root.MkdirAll(parent, 0o755); err != nil {
				return err
			}
		}
		mode := os.FileMode(h.Mode).Perm()
		switch h.Typeflag {
		case tar.TypeDir:
			if err := root.MkdirAll(target, mode|0o700); err != nil {
				return err
			}
		case tar.TypeReg:
			f, err := root.OpenFile(target, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode|0o600)
			if err != nil {
				return err
			}
			_, err = io.Copy(f, tr)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return err
			}
		case tar.TypeSymlink:
			if err := root.Symlink(h.Linkname, target); err != nil && !os.IsExist(err) {
				return err
			}
		case tar.TypeLink:
			src := strings.TrimPrefix(path.Clean("/"+h.Linkname), "/")
			if err := root.Link(src, target); err != nil && !os.IsExist(err) {
				return err
			}
		default:
			// Devices and FIFOs are not needed by the project's images.
		}
	}
}

// resolve finds argv[0] in the image: an absolute path inside the image, or a name
// looked up in the image's PATH.
func (u *unpacked) resolve(arg0, pathEnv string) (string, error) {
	inImage := func(p string) (string, bool) {
		full := filepath.Join(u.root, filepath.FromSlash(path.Clean("/"+p)))
		st, err := os.Stat(full)
		return full, err == nil && st.Mode().IsRegular() && st.Mode().Perm()&0o111 != 0
	}
	if strings.Contains(arg0, "/") {
		if full, ok := inImage(arg0); ok {
			return full, nil
		}
		return "", fmt.Errorf("executable %s not found in the image", arg0)
	}
	if pathEnv == "" {
		pathEnv = "/usr/local/bin:/usr/bin:/bin"
	}
	for _, d := range strings.Split(pathEnv, ":") {
		if full, ok := inImage(path.Join(d, arg0)); ok {
			return full, nil
		}
	}
	return "", fmt.Errorf("executable %s not found in the image's PATH (%s)", arg0, pathEnv)
}
