package webpublish

import (
	"context"
	"fmt"
	"io"
	"maps"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"golang.org/x/sync/errgroup"
)

// Upload reasons.
const (
	ReasonNew     = "new"
	ReasonChanged = "changed"
	ReasonHeaders = "headers" // same content, different Content-Type or Cache-Control
)

// Upload is one file to put, with why.
type Upload struct {
	File
	Reason string
}

// Plan is what a publish will do. Making it only reads from S3.
type Plan struct {
	opts   Options
	Bundle *Bundle

	Version string
	// Uploads in the order they are made: hashed assets, other files, entry points,
	// index.html last.
	Uploads   []Upload
	Unchanged int
	// Deletes are keys of releases that fell out of retention and that no kept release
	// references.
	Deletes []string
	// Invalidations are the CloudFront paths to invalidate: the non-hashed files whose
	// content or headers differ from the live release.
	Invalidations []string
	// Retained and Pruned list release versions, oldest first; Retained ends with Version.
	Retained []string
	Pruned   []string

	manifest      *Manifest // to write once the uploads are done (still lists Pruned)
	final         *Manifest // to write after pruning
	writeManifest bool
}

// remoteObject is what a listing says about one key.
type remoteObject struct {
	etag string
	size int64
}

// MakePlan scans the bundle and compares it with the bucket and its manifest.
func MakePlan(ctx context.Context, s3c *s3.Client, opts Options) (*Plan, error) {
	opts = opts.withDefaults()
	if err := opts.validate(); err != nil {
		return nil, err
	}
	bundle, err := ScanBundle(opts.Dir, opts.Policy)
	if err != nil {
		return nil, err
	}
	p := &Plan{opts: opts, Bundle: bundle, Version: opts.Version}
	if p.Version == "" {
		p.Version = bundle.Digest()
	}
	old, err := ReadManifest(ctx, s3c, opts.Bucket)
	if err != nil {
		return nil, err
	}
	remote, err := listObjects(ctx, s3c, opts.Bucket)
	if err != nil {
		return nil, err
	}
	if err := p.decideUploads(ctx, s3c, old, remote); err != nil {
		return nil, err
	}
	p.decideRelease(old, remote)
	p.decideInvalidations(old)
	return p, nil
}

func listObjects(ctx context.Context, s3c *s3.Client, bucket string) (map[string]remoteObject, error) {
	objs := map[string]remoteObject{}
	pager := s3.NewListObjectsV2Paginator(s3c, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	for pager.HasMorePages() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list s3://%s: %w", bucket, err)
		}
		for _, o := range page.Contents {
			key := aws.ToString(o.Key)
			if key == ManifestKey {
				continue
			}
			objs[key] = remoteObject{etag: strings.Trim(aws.ToString(o.ETag), `"`), size: aws.ToInt64(o.Size)}
		}
	}
	return objs, nil
}

// knownRecord is what the manifest says the bucket holds under key with this content,
// from the newest release that has it.
func knownRecord(m *Manifest, key, sha string) (FileRecord, bool) {
	if m == nil {
		return FileRecord{}, false
	}
	for i := len(m.Releases) - 1; i >= 0; i-- {
		if r, ok := m.Releases[i].Files[key]; ok && r.SHA256 == sha {
			return r, true
		}
	}
	return FileRecord{}, false
}

func (p *Plan) decideUploads(ctx context.Context, s3c *s3.Client, old *Manifest, remote map[string]remoteObject) error {
	var (
		mu     sync.Mutex
		verify []File
	)
	add := func(f File, reason string) {
		mu.Lock()
		defer mu.Unlock()
		if reason == "" {
			p.Unchanged++
			return
		}
		p.Uploads = append(p.Uploads, Upload{File: f, Reason: reason})
	}
	for _, f := range p.Bundle.Files {
		obj, ok := remote[f.Key]
		switch {
		case !ok:
			add(f, ReasonNew)
		case obj.etag == f.MD5:
			if rec, known := knownRecord(old, f.Key, f.SHA256); known {
				if rec.ContentType != f.ContentType || rec.CacheControl != f.CacheControl {
					add(f, ReasonHeaders)
				} else {
					add(f, "")
				}
				continue
			}
			// Same bytes put there by something else (an older sync): its headers
			// are unknown and often wrong, so look.
			verify = append(verify, f)
		default:
			// Not an MD5 ETag match: a changed file, or an encrypted/multipart object
			// whose ETag is not an MD5, which the sha256 metadata settles.
			verify = append(verify, f)
		}
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(p.opts.Concurrency)
	for _, f := range verify {
		g.Go(func() error {
			reason, err := headCompare(gctx, s3c, p.opts.Bucket, f)
			if err != nil {
				return err
			}
			add(f, reason)
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	sortUploads(p.Uploads)
	return nil
}

func headCompare(ctx context.Context, s3c *s3.Client, bucket string, f File) (string, error) {
	var out *s3.HeadObjectOutput
	err := withRetry(ctx, func() error {
		var err error
		out, err = s3c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(f.Key)})
		return err
	})
	if err != nil {
		return "", &ObjectError{Op: "head", Key: f.Key, Err: err}
	}
	sameBytes := strings.Trim(aws.ToString(out.ETag), `"`) == f.MD5 || out.Metadata[metaSHA256] == f.SHA256
	switch {
	case !sameBytes:
		return ReasonChanged, nil
	case aws.ToString(out.ContentType) != f.ContentType || aws.ToString(out.CacheControl) != f.CacheControl:
		return ReasonHeaders, nil
	}
	return "", nil
}

// uploadPhase orders uploads so that nothing a browser loads first can name a file
// that is not there yet.
func uploadPhase(u Upload) int {
	switch {
	case u.Key == "index.html":
		return 3
	case u.Kind == KindEntry:
		return 2
	case u.Kind == KindOther:
		return 1
	}
	return 0
}

func sortUploads(us []Upload) {
	sort.Slice(us, func(i, j int) bool {
		pi, pj := uploadPhase(us[i]), uploadPhase(us[j])
		if pi != pj {
			return pi < pj
		}
		return us[i].Key < us[j].Key
	})
}

func (p *Plan) decideRelease(old *Manifest, remote map[string]remoteObject) {
	rel := Release{Version: p.Version, PublishedAt: p.opts.Now().UTC(), Files: map[string]FileRecord{}}
	for _, f := range p.Bundle.Files {
		rel.Files[f.Key] = FileRecord{SHA256: f.SHA256, ETag: f.MD5, Size: f.Size, ContentType: f.ContentType, CacheControl: f.CacheControl}
	}
	m := &Manifest{Schema: manifestSchema}
	switch {
	case old != nil:
		m.Releases = slices.Clone(old.Releases)
	case len(remote) > 0:
		pre := Release{Version: preManifestVersion, PublishedAt: rel.PublishedAt, Files: map[string]FileRecord{}}
		for key, o := range remote {
			pre.Files[key] = FileRecord{ETag: o.etag, Size: o.size}
		}
		m.Releases = []Release{pre}
	}
	if i := slices.IndexFunc(m.Releases, func(r Release) bool { return r.Version == p.Version }); i >= 0 {
		prev := m.Releases[i]
		if sameFiles(prev.Files, rel.Files) {
			// Republishing (e.g. rolling back to it): the same release, moved last.
			rel.PublishedAt = prev.PublishedAt
			m.Releases = slices.Delete(m.Releases, i, i+1)
		} else {
			// A rebuild under the same version: the earlier build keeps its place in
			// the history, so its files are retained and later pruned like any other.
			m.Releases[i].Version = fmt.Sprintf("%s (replaced %s)", prev.Version, rel.PublishedAt.Format(time.RFC3339))
		}
	}
	m.Releases = append(m.Releases, rel)
	m.Live = p.Version

	cut := max(0, len(m.Releases)-(p.opts.Keep+1))
	kept := map[string]bool{}
	for _, r := range m.Releases[cut:] {
		p.Retained = append(p.Retained, r.Version)
		for key := range r.Files {
			kept[key] = true
		}
	}
	deletes := map[string]bool{}
	for _, r := range m.Releases[:cut] {
		p.Pruned = append(p.Pruned, r.Version)
		for key := range r.Files {
			if _, there := remote[key]; there && !kept[key] {
				deletes[key] = true
			}
		}
	}
	p.Deletes = slices.Sorted(maps.Keys(deletes))
	p.manifest = m
	p.final = &Manifest{Schema: m.Schema, Live: m.Live, Releases: m.Releases[cut:]}
	p.writeManifest = old == nil || cut > 0 || !sameManifest(old, p.final)
}

func sameFiles(a, b map[string]FileRecord) bool { return maps.Equal(a, b) }

func sameManifest(a, b *Manifest) bool {
	if a.Live != b.Live || a.Schema != b.Schema || len(a.Releases) != len(b.Releases) {
		return false
	}
	for i := range a.Releases {
		ra, rb := a.Releases[i], b.Releases[i]
		if ra.Version != rb.Version || !ra.PublishedAt.Equal(rb.PublishedAt) || !sameFiles(ra.Files, rb.Files) {
			return false
		}
	}
	return true
}

func (p *Plan) decideInvalidations(old *Manifest) {
	if p.opts.DistributionID == "" {
		return
	}
	var live *Release
	if old != nil {
		live = old.LiveRelease()
	}
	var paths []string
	for _, f := range p.Bundle.Files {
		if f.Kind == KindHashed {
			continue
		}
		if live != nil {
			if r, ok := live.Files[f.Key]; ok && r.SHA256 == f.SHA256 && r.ContentType == f.ContentType && r.CacheControl == f.CacheControl {
				continue
			}
		}
		paths = append(paths, invalidationPath(f.Key))
		if f.Key == "index.html" {
			// CloudFront caches the default root object under "/" too.
			paths = append(paths, "/")
		}
	}
	if len(paths) > p.opts.MaxInvalidationPaths {
		paths = []string{"/*"}
	}
	sort.Strings(paths)
	p.Invalidations = paths
}

// invalidationPath escapes each segment as CloudFront asks for unsafe characters.
func invalidationPath(key string) string {
	segs := strings.Split(key, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return "/" + strings.Join(segs, "/")
}

// Print writes the plan for people: what would be uploaded, deleted and invalidated.
func (p *Plan) Print(w io.Writer) {
	fmt.Fprintf(w, "release %s to s3://%s: %d uploads, %d unchanged, %d deletes, %d invalidation paths\n",
		p.Version, p.opts.Bucket, len(p.Uploads), p.Unchanged, len(p.Deletes), len(p.Invalidations))
	for _, u := range p.Uploads {
		fmt.Fprintf(w, "upload     %-8s %-6s %s (%s; %s)\n", u.Reason, u.Kind, u.Key, u.ContentType, u.CacheControl)
	}
	for _, k := range p.Deletes {
		fmt.Fprintf(w, "delete     %s\n", k)
	}
	for _, path := range p.Invalidations {
		fmt.Fprintf(w, "invalidate %s (distribution %s)\n", path, p.opts.DistributionID)
	}
	fmt.Fprintf(w, "releases kept: %s", strings.Join(p.Retained, ", "))
	if len(p.Pruned) > 0 {
		fmt.Fprintf(w, "; pruned: %s", strings.Join(p.Pruned, ", "))
	}
	fmt.Fprintln(w)
}
