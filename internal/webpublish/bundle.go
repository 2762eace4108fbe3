package webpublish

import (
	"cmp"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/zeebo/xxh3"
	"golang.org/x/sync/errgroup"
)

// File is one file of the bundle with everything needed to decide and upload it.
type File struct {
	Key  string // object key: slash-separated path relative to the bundle root
	Path string // local path
	Size int64
	// Sum (hex XXH3-128) identifies the content: it is only compared with the release
	// records, which kmdeploy alone writes, so it needs to be fast, not cryptographic.
	Sum string
	// SHA256 (hex, kept in the object's metadata) and MD5 (hex: the ETag of a
	// single-part upload) are filled in only for the files that need them (uploads,
	// objects to check, files recorded by the first kmdeploy), by ensureDigests.
	SHA256       string
	MD5          string
	Kind         Kind
	ContentType  string
	CacheControl string
}

// Bundle is a scanned bundle directory.
type Bundle struct {
	Dir   string
	Files []File // sorted by key
}

// Digest identifies the bundle's content (keys, hashes and headers); it is the default
// release version.
func (b *Bundle) Digest() string {
	h := sha256.New()
	var line []byte
	for _, f := range b.Files {
		line = append(append(line[:0], f.Key...), 0)
		line = append(append(line, f.Sum...), 0)
		line = append(append(line, f.ContentType...), 0)
		line = append(append(line, f.CacheControl...), '\n')
		h.Write(line)
	}
	return hex.EncodeToString(h.Sum(nil))[:12]
}

// CheckDir refuses, without reading any file, a directory that cannot be a web
// bundle: unset, missing, not a directory, without index.html at its root, or with a
// _releases/ directory (the prefix of the release records).
func CheckDir(dir string) error {
	if dir == "" {
		return &BundleError{Dir: dir, Reason: "is not set: pass the build output directory with --dir"}
	}
	info, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return &BundleError{Dir: dir, Reason: "does not exist: build the web app first (yarn build writes build/) and pass that directory"}
	}
	if err != nil {
		return &BundleError{Dir: dir, Reason: "cannot be read", Err: err}
	}
	if !info.IsDir() {
		return &BundleError{Dir: dir, Reason: "is not a directory: pass the build output directory, not a file"}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return &BundleError{Dir: dir, Reason: "cannot be read", Err: err}
	}
	if len(entries) == 0 {
		return &BundleError{Dir: dir, Reason: "is empty: the web build produced no files"}
	}
	if st, err := os.Stat(filepath.Join(dir, "index.html")); err != nil || !st.Mode().IsRegular() {
		return &BundleError{Dir: dir, Reason: "has no index.html at its root: pass the build output directory itself (e.g. build/, not the project)"}
	}
	if st, err := os.Stat(filepath.Join(dir, releasesPrefix)); err == nil && st.IsDir() {
		return &BundleError{Dir: dir, Reason: "contains " + releasesPrefix + ": the prefix is reserved for the release records; rename it"}
	}
	return nil
}

// ScanBundle reads and hashes dir, after the refusals of CheckDir; it also refuses
// anything that is not a regular file. Files are hashed in parallel while the
// directories are read, each streamed through one buffer per worker, so memory grows
// with the number of files, not with their sizes.
func ScanBundle(dir string, policy Policy) (*Bundle, error) {
	if err := CheckDir(dir); err != nil {
		return nil, err
	}
	// The walk emits files in key order, in chunks small enough to spread a large
	// directory over the workers, which fill them in place.
	var ordered [][]File
	chunks := make(chan []File, 64)
	g, ctx := errgroup.WithContext(context.Background())
	g.Go(func() error {
		defer close(chunks)
		return walkBundle(dir, dir, "", func(files []File) error {
			for c := range slices.Chunk(files, scanChunk) {
				ordered = append(ordered, c)
				select {
				case chunks <- c:
				case <-ctx.Done():
					return ctx.Err()
				}
			}
			return nil
		})
	})
	classifier := policy.classifier()
	for range max(2, runtime.GOMAXPROCS(0)) {
		g.Go(func() error {
			buf := bufPool.Get().(*[]byte)
			defer bufPool.Put(buf)
			h := xxh3.New()
			for c := range chunks {
				for i := range c {
					f := &c[i]
					h.Reset()
					n, err := hashFile(f.Path, h, *buf)
					if err != nil {
						return err
					}
					sum := h.Sum128().Bytes()
					f.Size, f.Sum = n, hex.EncodeToString(sum[:])
					f.Kind = classifier.kind(f.Key)
					f.ContentType = ContentType(f.Key)
					f.CacheControl = policy.CacheControl(f.Kind)
				}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		var be *BundleError
		if errors.As(err, &be) {
			return nil, be
		}
		return nil, &BundleError{Dir: dir, Reason: "cannot be read", Err: err}
	}
	return &Bundle{Dir: dir, Files: slices.Concat(ordered...)}, nil
}

// scanChunk is how many files a hashing worker takes at a time.
const scanChunk = 64

// walkBundle passes emit the files of the directory p (the bundle's root, or the
// directory of keys starting with prefix) and walks its subdirectories, so that the
// files come in key order. Keys and paths are joined, not cleaned: the names come
// from the directory listing. It checks each entry without opening it: opening a
// FIFO would block. Symlinks to files are followed; a symlink to anything else is
// refused.
func walkBundle(root, p, prefix string, emit func([]File) error) error {
	d, err := os.Open(p)
	if err != nil {
		return err
	}
	entries, err := d.ReadDir(-1)
	d.Close()
	if err != nil {
		return err
	}
	names := make([]dirent, len(entries))
	for i, e := range entries {
		names[i] = dirent{e.Name(), e.Type()}
	}
	slices.SortFunc(names, keyOrder)
	files := make([]File, 0, len(names))
	for _, e := range names {
		key, path := prefix+e.name, p+string(filepath.Separator)+e.name
		mode := e.mode
		if mode&fs.ModeSymlink != 0 {
			st, err := os.Stat(path)
			if err != nil {
				return err
			}
			if mode = st.Mode().Type(); mode.IsDir() {
				mode = fs.ModeSymlink // not walked
			}
		}
		switch {
		case mode.IsRegular():
			files = append(files, File{Key: key, Path: path})
		case mode.IsDir():
			if err := emit(files); err != nil {
				return err
			}
			files = files[len(files):] // the emitted chunks end where these start
			if err := walkBundle(root, path, key+"/", emit); err != nil {
				return err
			}
		default:
			return &BundleError{Dir: root, Reason: "contains " + key + ", which is not a regular file"}
		}
	}
	return emit(files)
}

// dirent is a directory entry as walkBundle sorts it.
type dirent struct {
	name string
	mode fs.FileMode // type bits only
}

// keyOrder orders a directory's entries as their keys sort: a directory as if its
// name ended with the "/" its files' keys have there.
func keyOrder(a, b dirent) int {
	n := min(len(a.name), len(b.name))
	if c := strings.Compare(a.name[:n], b.name[:n]); c != 0 {
		return c
	}
	next := func(e dirent) int {
		switch {
		case len(e.name) > n:
			return int(e.name[n])
		case e.mode.IsDir():
			return '/'
		}
		return -1
	}
	return cmp.Compare(next(a), next(b))
}

// bufPool holds read buffers: reading through io.Copy would allocate one per file.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 64<<10); return &b }}

// ensureDigests fills in f.SHA256 and f.MD5, reading the file once for both.
func ensureDigests(f *File) error {
	if f.SHA256 != "" && f.MD5 != "" {
		return nil
	}
	buf := bufPool.Get().(*[]byte)
	defer bufPool.Put(buf)
	sha, md := sha256.New(), md5.New()
	if _, err := hashFile(f.Path, io.MultiWriter(sha, md), *buf); err != nil {
		return &BundleError{Dir: f.Path, Reason: "cannot be read", Err: err}
	}
	f.SHA256, f.MD5 = hex.EncodeToString(sha.Sum(nil)), hex.EncodeToString(md.Sum(nil))
	return nil
}
