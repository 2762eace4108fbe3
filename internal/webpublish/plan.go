package webpublish

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"slices"
	"sort"
	"strings"
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
	ReasonMissing = "missing" // recorded, but deleted from the bucket out of band
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
	// Check says why the records were compared with a listing of the whole bucket
	// (no records yet, records of an older kmdeploy or another bucket, --verify);
	// empty when they were trusted. Checked counts the objects read with a HEAD.
	Check   string
	Checked int
	// Deletes are keys that no kept release needs any more (files and records).
	Deletes []string
	// Invalidations are the CloudFront paths to invalidate: the non-hashed files whose
	// content or headers differ from the live release.
	Invalidations []string
	// Retained and Pruned list release versions, oldest first; Retained ends with Version.
	Retained []string
	Pruned   []string

	digest string   // Bundle.Digest
	etags  []string // per Bundle.Files: the object's ETag once published
	record *record  // written first, nil when nothing changes
	index  *Index   // written last, nil when nothing changes
}

// MakePlan scans the bundle and compares it with the live release's record.
func MakePlan(ctx context.Context, s3c S3API, opts Options) (*Plan, error) {
	opts = opts.withDefaults()
	if err := opts.validate(); err != nil {
		return nil, err
	}
	if err := CheckDir(opts.Dir); err != nil {
		return nil, err
	}
	// Hashing is local and reading the records is remote: do both at once.
	var (
		bundle *Bundle
		st     *state
	)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) {
		bundle, err = ScanBundle(opts.Dir, opts.Policy)
		return err
	})
	g.Go(func() (err error) {
		st, err = loadState(gctx, s3c, opts.Bucket, opts.Verify)
		return err
	})
	if err := g.Wait(); err != nil {
		return nil, err
	}
	p := &Plan{opts: opts, Bundle: bundle, Version: opts.Version, Check: st.check, digest: bundle.Digest()}
	if p.Version == "" {
		p.Version = p.digest
	}
	if err := p.decideUploads(ctx, s3c, st); err != nil {
		return nil, err
	}
	p.decideInvalidations(st)
	p.decideRelease(st)
	return p, nil
}

func (p *Plan) decideUploads(ctx context.Context, s3c S3API, st *state) error {
	files := p.Bundle.Files
	p.etags = make([]string, len(files))
	reasons := make([]string, len(files))
	// Files recorded by the first kmdeploy are compared by sha256, which is computed
	// for them (once: the next records have their sums).
	var legacy []int
	for i, f := range files {
		if e := st.files[f.Key]; e != nil && e.sum == "" && e.sha256 != "" {
			legacy = append(legacy, i)
		}
	}
	err := forEach(ctx, p.opts.Concurrency, legacy, func(_ context.Context, i int) error { return ensureDigests(&files[i]) })
	if err != nil {
		return err
	}
	var check []int
	for i, f := range files {
		e := st.files[f.Key]
		switch {
		case e == nil && st.missing[f.Key]:
			reasons[i] = ReasonMissing
		case e == nil:
			reasons[i] = ReasonNew
		case !e.knowsContent():
			check = append(check, i)
		case !e.holds(&f):
			reasons[i] = ReasonChanged
		case e.hdr == nil || *e.hdr != fileHeaders(f):
			reasons[i] = ReasonHeaders
		default:
			p.etags[i] = e.etag
		}
	}
	p.Checked = len(check)
	err = forEach(ctx, p.opts.Concurrency, check, func(ctx context.Context, i int) (err error) {
		reasons[i], p.etags[i], err = headCompare(ctx, s3c, p.opts.Bucket, &files[i])
		return err
	})
	if err != nil {
		return err
	}
	var uploads []int
	for i, r := range reasons {
		if r == "" {
			p.Unchanged++
		} else {
			uploads = append(uploads, i)
		}
	}
	// The new record names each upload's ETag before the upload: the MD5 that S3 gives
	// a single-part upload (a --verify settles buckets that give other ETags). The
	// upload carries the sha256 in its metadata.
	err = forEach(ctx, p.opts.Concurrency, uploads, func(_ context.Context, i int) error { return ensureDigests(&files[i]) })
	if err != nil {
		return err
	}
	for _, i := range uploads {
		p.etags[i] = files[i].MD5
		p.Uploads = append(p.Uploads, Upload{File: files[i], Reason: reasons[i]})
	}
	sortUploads(p.Uploads)
	return nil
}

// forEach runs fn on every item, at most limit at a time, and returns the first error.
func forEach[T any](ctx context.Context, limit int, items []T, fn func(context.Context, T) error) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(limit)
	for _, it := range items {
		g.Go(func() error { return fn(gctx, it) })
	}
	return g.Wait()
}

func fileHeaders(f File) headers { return headers{f.ContentType, f.CacheControl} }

// headCompare settles a key the records cannot vouch for: same bytes when the sha256
// metadata every kmdeploy upload carries matches, or else the ETag is the file's MD5.
func headCompare(ctx context.Context, s3c S3API, bucket string, f *File) (reason, etag string, err error) {
	out, err := s3c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(f.Key)})
	if notFound(err) {
		return ReasonNew, "", nil
	}
	if err != nil {
		return "", "", &ObjectError{Op: "head", Key: f.Key, Err: err}
	}
	if err := ensureDigests(f); err != nil {
		return "", "", err
	}
	etag = strings.Trim(aws.ToString(out.ETag), `"`)
	sameBytes := out.Metadata[metaSHA256] == f.SHA256 || out.Metadata[metaSHA256] == "" && etag == f.MD5
	switch {
	case !sameBytes:
		return ReasonChanged, "", nil
	case aws.ToString(out.ContentType) != f.ContentType || aws.ToString(out.CacheControl) != f.CacheControl:
		return ReasonHeaders, "", nil
	}
	return "", etag, nil
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

// decideRelease appends the release to the index, works out which releases stay and
// which files no kept release needs, and builds the new release's record. A file is
// needed while the last release that had it is kept.
func (p *Plan) decideRelease(st *state) {
	var releases []ReleaseInfo
	if st.index != nil {
		releases = slices.Clone(st.index.Releases)
	} else if len(st.files) > 0 {
		pre := ReleaseInfo{Seq: 0, Version: preManifestVersion, PublishedAt: p.opts.Now().UTC(), Files: len(st.files)}
		for _, e := range st.files {
			pre.Bytes += e.size
		}
		releases = []ReleaseInfo{pre}
	}
	seq := int64(1)
	if len(releases) > 0 {
		seq = releases[len(releases)-1].Seq + 1
	}
	rel := ReleaseInfo{Seq: seq, Version: p.Version, PublishedAt: p.opts.Now().UTC(), Digest: p.digest,
		Files: len(p.Bundle.Files), Record: recordKey(seq)}
	for _, f := range p.Bundle.Files {
		rel.Bytes += f.Size
	}
	live := st.index.LiveRelease()
	if live != nil && live.Version == rel.Version && live.Digest == rel.Digest && len(p.Uploads) == 0 && !st.dirty &&
		len(releases) <= p.opts.Keep+1 && len(st.strayRecords(releases)) == 0 {
		p.Retained = st.index.Versions()
		return // the live release, as recorded: nothing to write
	}

	if i := slices.IndexFunc(releases, func(r ReleaseInfo) bool { return r.Version == rel.Version }); i >= 0 {
		if prev := releases[i]; prev.Digest == rel.Digest {
			// Republishing (e.g. rolling back to it): the same release, moved last.
			rel.PublishedAt = prev.PublishedAt
			releases = slices.Delete(releases, i, i+1)
		} else {
			// A rebuild under the same version: the earlier build keeps its place in
			// the history, so its files are retained and later pruned like any other.
			releases[i].Version = fmt.Sprintf("%s (replaced %s)", prev.Version, rel.PublishedAt.Format(time.RFC3339))
		}
	}
	releases = append(releases, rel)
	cut := max(0, len(releases)-(p.opts.Keep+1))
	for _, r := range releases[:cut] {
		p.Pruned = append(p.Pruned, r.Version)
	}
	kept := releases[cut:]
	for _, r := range kept {
		p.Retained = append(p.Retained, r.Version)
	}

	files := p.releaseFiles(st, seq)
	var touched []string
	for key, e := range files {
		if !e.live && e.last < kept[0].Seq {
			p.Deletes = append(p.Deletes, key)
			delete(files, key)
		} else if !e.knowsContent() {
			touched = append(touched, key)
		}
	}
	// Records of releases no longer kept go with their files (the listing of the
	// records shows every one, including those a failed publish left).
	p.Deletes = append(p.Deletes, st.strayRecords(kept)...)
	slices.Sort(p.Deletes)
	for _, u := range p.Uploads {
		touched = append(touched, u.Key)
	}
	for key := range st.suspect {
		touched = append(touched, key)
	}
	// Keys about to change are listed in the record before they change, so that a
	// publish that dies half way leaves the next one a list of keys to check.
	for _, key := range p.Deletes {
		if !strings.HasPrefix(key, releasesPrefix) {
			touched = append(touched, key)
		}
	}
	slices.Sort(touched)
	p.record = &record{seq: seq, version: rel.Version, bucket: p.opts.Bucket, files: files, keys: p.recordKeys(files), touched: slices.Compact(touched)}
	p.index = &Index{Schema: indexSchema, Bucket: p.opts.Bucket, Live: rel.Version, Releases: kept}
}

// recordKeys orders the keys of files without sorting them all: those of the bundle
// are in order already, the others, kept for older releases, are few.
func (p *Plan) recordKeys(files map[string]*entry) []string {
	var others []string
	for key, e := range files {
		if !e.live {
			others = append(others, key)
		}
	}
	slices.Sort(others)
	keys := make([]string, 0, len(files))
	bundle := p.Bundle.Files
	for len(bundle) > 0 || len(others) > 0 {
		if len(others) == 0 || len(bundle) > 0 && bundle[0].Key < others[0] {
			keys, bundle = append(keys, bundle[0].Key), bundle[1:]
		} else {
			keys, others = append(keys, others[0]), others[1:]
		}
	}
	return keys
}

// releaseFiles turns st.files into what the bucket holds once release seq is live:
// its files, and every other key as it was, now kept only for older releases. It
// updates the entries in place: most files are the ones of the live release.
func (p *Plan) releaseFiles(st *state, seq int64) map[string]*entry {
	files := st.files
	for _, e := range files {
		e.live = false
	}
	hdrs := map[headers]*headers{}
	for i, f := range p.Bundle.Files {
		h := fileHeaders(f)
		if hdrs[h] == nil {
			hdrs[h] = &h
		}
		e := files[f.Key]
		if e == nil {
			e = &entry{}
			files[f.Key] = e
		}
		*e = entry{sum: f.Sum, etag: p.etags[i], size: f.Size, hdr: hdrs[h], last: seq, live: true}
	}
	return files
}

func (p *Plan) decideInvalidations(st *state) {
	if p.opts.DistributionID == "" {
		return
	}
	var paths []string
	for _, f := range p.Bundle.Files {
		if f.Kind == KindHashed {
			continue
		}
		if e := st.files[f.Key]; e != nil && e.live && e.holds(&f) && e.hdr != nil && *e.hdr == fileHeaders(f) {
			continue
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
	if p.Check != "" {
		fmt.Fprintf(w, "checked the bucket against its records (%s): %d objects read\n", p.Check, p.Checked)
	}
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
