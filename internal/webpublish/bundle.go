package webpublish

import (
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

	"golang.org/x/sync/errgroup"
)

// File is one file of the bundle with everything needed to decide and upload it.
type File struct {
	Key    string // object key: slash-separated path relative to the bundle root
	Path   string // local path
	Size   int64
	SHA256 string // hex; kept in object metadata and in the release records
	// MD5 (hex) equals the ETag of a single-part upload; it is filled in only for the
	// files that need it (uploads, objects to check), as hashing twice costs time.
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
	for _, f := range b.Files {
		io.WriteString(h, f.Key+"\x00"+f.SHA256+"\x00"+f.ContentType+"\x00"+f.CacheControl+"\n")
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
// anything that is not a regular file. Files are hashed in parallel, each streamed
// through one buffer per worker, so memory grows with the number of files, not with
// their sizes.
func ScanBundle(dir string, policy Policy) (*Bundle, error) {
	if err := CheckDir(dir); err != nil {
		return nil, err
	}
	todo := make(chan File, 256)
	done := make(chan File, 256)
	g, ctx := errgroup.WithContext(context.Background())
	g.Go(func() error {
		defer close(todo)
		return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			f, err := bundleFile(dir, p, d)
			if err != nil {
				return err
			}
			select {
			case todo <- f:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
	})
	classifier := policy.classifier()
	var workers sync.WaitGroup
	for range max(2, runtime.GOMAXPROCS(0)) {
		workers.Add(1)
		g.Go(func() error {
			defer workers.Done()
			buf := bufPool.Get().(*[]byte)
			defer bufPool.Put(buf)
			h := sha256.New()
			var sum [sha256.Size]byte
			for f := range todo {
				h.Reset()
				n, err := hashFile(f.Path, h, *buf)
				if err != nil {
					return err
				}
				f.Size, f.SHA256 = n, hex.EncodeToString(h.Sum(sum[:0]))
				f.Kind = classifier.kind(f.Key)
				f.ContentType = ContentType(f.Key)
				f.CacheControl = policy.CacheControl(f.Kind)
				done <- f
			}
			return nil
		})
	}
	go func() {
		workers.Wait()
		close(done)
	}()
	b := &Bundle{Dir: dir}
	for f := range done {
		b.Files = append(b.Files, f)
	}
	if err := g.Wait(); err != nil {
		var be *BundleError
		if errors.As(err, &be) {
			return nil, be
		}
		return nil, &BundleError{Dir: dir, Reason: "cannot be read", Err: err}
	}
	slices.SortFunc(b.Files, func(a, b File) int { return strings.Compare(a.Key, b.Key) })
	return b, nil
}

// bundleFile checks one walked entry without opening it: opening a FIFO would block.
func bundleFile(dir, p string, d fs.DirEntry) (File, error) {
	rel, err := filepath.Rel(dir, p)
	if err != nil {
		return File{}, err
	}
	key := filepath.ToSlash(rel)
	mode := d.Type()
	if mode&fs.ModeSymlink != 0 {
		// Symlinks to files are followed; symlinks to directories are not walked.
		st, err := os.Stat(p)
		if err != nil {
			return File{}, err
		}
		mode = st.Mode().Type()
	}
	if !mode.IsRegular() {
		return File{}, &BundleError{Dir: dir, Reason: "contains " + key + ", which is not a regular file"}
	}
	return File{Key: key, Path: p}, nil
}

// bufPool holds read buffers: reading through io.Copy would allocate one per file.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 64<<10); return &b }}

// fileMD5 is the hex MD5 of a file: the ETag S3 gives a single-part upload. It is
// computed only for the few files that need it (uploads, objects to check).
func fileMD5(p string) (string, error) {
	buf := bufPool.Get().(*[]byte)
	defer bufPool.Put(buf)
	h := md5.New()
	if _, err := hashFile(p, h, *buf); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
