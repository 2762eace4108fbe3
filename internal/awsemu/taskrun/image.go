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

// imageCache pulls and unpacks each image digest once.
type imageCache struct {
	dir string

	mu      sync.Mutex
	entries map[string]*cacheEntry // by image reference
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
	c.mu.Lock()
	e, ok := c.entries[ref]
	if !ok {
		e = &cacheEntry{}
		c.entries[ref] = e
	}
	c.mu.Unlock()
	e.once.Do(func() { e.img, e.err = c.pull(ctx, ref) })
	if e.err != nil {
		c.mu.Lock()
		if c.entries[ref] == e {
			delete(c.entries, ref)
		}
		c.mu.Unlock()
	}
	return e.img, e.err
}

func (c *imageCache) pull(ctx context.Context, ref string) (*unpacked, error) {
	// The emulation's registry speaks plain HTTP on loopback.
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		return nil, fmt.Errorf("invalid image reference: %w", err)
	}
	img, err := remote.Image(r, remote.WithContext(ctx))
	if err != nil {
		return nil, err
	}
	digest, err := img.Digest()
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("read image configuration: %w", err)
	}
	root := filepath.Join(c.dir, digest.Hex)
	if _, err := os.Stat(root); err == nil {
		return &unpacked{root: root, config: cf.Config}, nil // another reference to the same image
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
		if _, serr := os.Stat(root); serr != nil {
			return nil, err
		}
	}
	return &unpacked{root: root, config: cf.Config}, nil
}

// untar writes a flattened image filesystem under dir, refusing paths that leave it.
func untar(r io.Reader, dir string) error {
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		clean := path.Clean("/" + h.Name)
		if clean == "/" {
			continue
		}
		target := filepath.Join(dir, filepath.FromSlash(clean))
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		mode := os.FileMode(h.Mode).Perm()
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(target, mode|0o700); err != nil {
				return err
			}
		case tar.TypeReg:
			f, err := os.OpenFile(target, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode|0o600)
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
			// Absolute link targets point into the image, not the host.
			if err := os.Symlink(h.Linkname, target); err != nil && !os.IsExist(err) {
				return err
			}
		case tar.TypeLink:
			src := filepath.Join(dir, filepath.FromSlash(path.Clean("/"+h.Linkname)))
			if err := os.Link(src, target); err != nil && !os.IsExist(err) {
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
