package webpublish

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// File is one file of the bundle with everything needed to decide and upload it.
type File struct {
	Key          string // object key: slash-separated path relative to the bundle root
	Path         string // local path
	Size         int64
	MD5          string // hex; equals the ETag of a single-part upload
	SHA256       string // hex; kept in object metadata and in the release manifest
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
// bundle: unset, missing, not a directory, or without index.html at its root.
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
	return nil
}

// ScanBundle reads and hashes dir, after the refusals of CheckDir; it also refuses
// files under the manifest prefix.
func ScanBundle(dir string, policy Policy) (*Bundle, error) {
	if err := CheckDir(dir); err != nil {
		return nil, err
	}
	b := &Bundle{Dir: dir}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		key := filepath.ToSlash(rel)
		if strings.HasPrefix(key, releasesPrefix) {
			return &BundleError{Dir: dir, Reason: "contains " + key + ": the " + releasesPrefix + " prefix is reserved for the release manifest; rename it"}
		}
		// Symlinks to files are followed; anything else that is not a regular file
		// (sockets, symlinks to directories) has no place in a web bundle.
		st, err := os.Stat(p)
		if err != nil {
			return err
		}
		if !st.Mode().IsRegular() {
			return &BundleError{Dir: dir, Reason: "contains " + key + ", which is not a regular file"}
		}
		f, err := hashFile(p)
		if err != nil {
			return err
		}
		f.Key = key
		f.Kind = policy.Classify(key)
		f.ContentType = ContentType(key)
		f.CacheControl = policy.CacheControl(f.Kind)
		b.Files = append(b.Files, f)
		return nil
	})
	if err != nil {
		var be *BundleError
		if errors.As(err, &be) {
			return nil, be
		}
		return nil, &BundleError{Dir: dir, Reason: "cannot be read", Err: err}
	}
	sort.Slice(b.Files, func(i, j int) bool { return b.Files[i].Key < b.Files[j].Key })
	return b, nil
}

func hashFile(p string) (File, error) {
	fh, err := os.Open(p)
	if err != nil {
		return File{}, err
	}
	defer fh.Close()
	m, s := md5.New(), sha256.New()
	n, err := io.Copy(io.MultiWriter(m, s), fh)
	if err != nil {
		return File{}, err
	}
	return File{Path: p, Size: n, MD5: hex.EncodeToString(m.Sum(nil)), SHA256: hex.EncodeToString(s.Sum(nil))}, nil
}
