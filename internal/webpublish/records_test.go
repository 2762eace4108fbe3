package webpublish

import (
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/zeebo/xxh3"
)

func md5hex(s string) string { h := md5.Sum([]byte(s)); return hex.EncodeToString(h[:]) }

// putObject writes key as something other than kmdeploy would: no sha256 metadata.
func (s *site) putObject(key, content string) {
	s.t.Helper()
	_, err := s.s3.PutObject(context.Background(), &s3.PutObjectInput{
		Bucket: aws.String(s.bucket), Key: aws.String(key), Body: strings.NewReader(content),
	})
	if err != nil {
		s.t.Fatal(err)
	}
}

func (s *site) deleteObject(key string) {
	s.t.Helper()
	if _, err := s.s3.DeleteObject(context.Background(), &s3.DeleteObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(key)}); err != nil {
		s.t.Fatal(err)
	}
}

// files lists the bucket's objects outside _releases/ as key → ETag.
func (s *site) files() map[string]string {
	objs := s.objects()
	maps.DeleteFunc(objs, func(k, _ string) bool { return strings.HasPrefix(k, releasesPrefix) })
	return objs
}

// wantBucket fails unless the bucket's files are exactly want (key → content).
func (s *site) wantBucket(want map[string]string) {
	s.t.Helper()
	got := s.files()
	for key, content := range want {
		if etag, ok := got[key]; !ok {
			s.t.Errorf("%s is missing", key)
		} else if etag != md5hex(content) {
			s.t.Errorf("%s holds other content (ETag %s, want %s)", key, etag, md5hex(content))
		}
	}
	for key := range got {
		if _, ok := want[key]; !ok {
			s.t.Errorf("%s is left in the bucket", key)
		}
	}
}

func (s *site) publishAs(version string, files map[string]string) *Result {
	s.t.Helper()
	opts := s.opts(writeBundle(s.t, files))
	opts.Version = version
	return s.publish(opts)
}

// breakingS3 fails the first call of op (on key, if set) with an error the SDK does
// not retry, as a publish killed at that point stops.
type breakingS3 struct {
	S3API
	op, key string
	broken  atomic.Bool
}

var errKilled = errors.New("killed")

func (b *breakingS3) breaks(op, key string) bool {
	return op == b.op && (b.key == "" || key == b.key) && b.broken.CompareAndSwap(false, true)
}

func (b *breakingS3) PutObject(ctx context.Context, in *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error) {
	if b.breaks("PutObject", aws.ToString(in.Key)) {
		return nil, errKilled
	}
	return b.S3API.PutObject(ctx, in, optFns...)
}

func (b *breakingS3) DeleteObjects(ctx context.Context, in *s3.DeleteObjectsInput, optFns ...func(*s3.Options)) (*s3.DeleteObjectsOutput, error) {
	if b.breaks("DeleteObjects", "") {
		return nil, errKilled
	}
	return b.S3API.DeleteObjects(ctx, in, optFns...)
}

func (s *site) publishBroken(version string, files map[string]string, op, key string) {
	s.t.Helper()
	opts := s.opts(writeBundle(s.t, files))
	opts.Version = version
	_, err := Publish(context.Background(), &breakingS3{S3API: s.s3, op: op, key: key}, s.cf, opts)
	if !errors.Is(err, errKilled) {
		s.t.Fatalf("publish %s broken at %s %s: %v, want the injected failure", version, op, key, err)
	}
}

func TestVerifyRepairsOutOfBandChanges(t *testing.T) {
	s := newSite(t)
	files := craBundle("v1")
	opts := s.opts(writeBundle(t, files))
	s.publish(opts)

	s.deleteObject("static/js/main.8a3b2c1d.js")
	s.putObject("logo192.png", "defaced")
	s.putObject("service-worker.js", "self.close()")

	// A publish trusts the records: it neither lists the bucket nor notices.
	s.rec.reset()
	if res := s.publish(opts); res.Uploaded != 0 {
		t.Errorf("a publish without --verify uploaded %d files", res.Uploaded)
	}
	if lists := s.rec.ops("ListObjectsV2"); len(lists) != 0 {
		t.Errorf("a publish without --verify listed the bucket: %q", lists)
	}

	opts.Verify = true
	s.rec.reset()
	plan, err := MakePlan(context.Background(), s.s3, opts)
	if err != nil {
		t.Fatal(err)
	}
	reasons := map[string]string{}
	for _, u := range plan.Uploads {
		reasons[u.Key] = u.Reason
	}
	want := map[string]string{"static/js/main.8a3b2c1d.js": ReasonMissing, "logo192.png": ReasonChanged, "service-worker.js": ReasonChanged}
	if !maps.Equal(reasons, want) {
		t.Errorf("--verify uploads %v, want %v", reasons, want)
	}
	if plan.Check != "--verify" || plan.Checked != 2 {
		t.Errorf("check %q with %d HEADs, want --verify with 2 (the overwritten objects)", plan.Check, plan.Checked)
	}
	res, err := plan.Apply(context.Background(), s.s3, s.cf)
	if err != nil {
		t.Fatal(err)
	}
	s.wantBucket(files)
	inv, err := s.cf.GetInvalidation(context.Background(), invalidationInput(s.distID, res.InvalidationID))
	if err != nil {
		t.Fatal(err)
	}
	if got := sorted(inv.Invalidation.InvalidationBatch.Paths.Items); !slices.Equal(got, []string{"/logo192.png", "/service-worker.js"}) {
		t.Errorf("invalidated %v, want the two overwritten non-hashed paths", got)
	}

	// The records hold again: the next plain publish changes nothing.
	opts.Verify = false
	s.rec.reset()
	if res := s.publish(opts); res.Uploaded != 0 || len(s.rec.ops("PutObject")) != 0 {
		t.Errorf("after --verify, a publish made PUTs %v", s.rec.ops("PutObject"))
	}
}

// Releases draw from a pool of content-hashed chunks (a chunk's content never changes
// under its name), come back, and are republished; after every publish the bucket must
// hold exactly the files of the kept releases.
func TestRetentionDeletesNothingAKeptReleaseNeeds(t *testing.T) {
	s := newSite(t)
	rng := rand.New(rand.NewPCG(7, 11))
	chunk := func(i int) (string, string) {
		return fmt.Sprintf("static/js/c%d.%08x.js", i, i*2654435761%1e8), fmt.Sprintf("chunk %d", i)
	}
	type release struct {
		version string
		files   map[string]string
	}
	var history []release // the index's releases as documented: oldest first
	const keep = 2
	for r := range 12 {
		rel := release{version: fmt.Sprintf("r%d", r), files: map[string]string{"index.html": fmt.Sprint("release ", r)}}
		if r == 7 {
			rel = history[len(history)-2] // a rollback: the same release, moved last
		} else {
			for i := range 10 {
				if rng.IntN(3) == 0 {
					k, v := chunk(i)
					rel.files[k] = v
				}
			}
			if r%3 == 0 {
				rel.files["logo.png"] = "logo"
			}
		}
		opts := s.opts(writeBundle(t, rel.files))
		opts.Version, opts.Keep = rel.version, keep
		s.publish(opts)

		history = slices.DeleteFunc(history, func(h release) bool { return h.version == rel.version })
		history = append(history, rel)
		history = history[max(0, len(history)-keep-1):]
		want := map[string]string{}
		for _, h := range history {
			maps.Copy(want, h.files) // index.html holds the newest
		}
		s.wantBucket(want)
		var versions []string
		for _, h := range history {
			versions = append(versions, h.version)
		}
		if got := s.manifest().Versions(); !slices.Equal(got, versions) {
			t.Errorf("after %s: releases %v, want %v", rel.version, got, versions)
		}
		var records []string
		for key := range s.objects() {
			if _, ok := recordSeq(key); ok {
				records = append(records, key)
			}
		}
		if len(records) != len(history) {
			t.Errorf("after %s: records %v for %d kept releases", rel.version, records, len(history))
		}
		if t.Failed() {
			t.Fatalf("after publishing %s", rel.version)
		}
	}
}

func TestTwoPublishesKeepBothReleasesFiles(t *testing.T) {
	s := newSite(t)
	a := map[string]string{"index.html": "a", "static/js/a.11111111.js": "a", "static/css/a.11111111.css": "a", "logo.png": "a"}
	b := map[string]string{"index.html": "b", "static/js/b.22222222.js": "b", "robots.txt": "b"}
	s.publishAs("a", a)
	s.publishAs("b", b)
	want := maps.Clone(a)
	maps.Copy(want, b)
	s.wantBucket(want)
	if v := s.manifest().Versions(); !slices.Equal(v, []string{"a", "b"}) {
		t.Errorf("releases %v", v)
	}
}

// killedBeforeIndex publishes release v1 of craBundle, then v2 in runs that die
// when index.html is next, as many times as asked.
func killedBeforeIndex(t *testing.T, v2 map[string]string, times int) *site {
	s := newSite(t)
	s.publishAs("v1", craBundle("v1"))
	for range times {
		s.publishBroken("v2", v2, "PutObject", "index.html")
	}
	return s
}

func TestInterruptedPublishConverges(t *testing.T) {
	t.Run("killed before index.html, then another release", func(t *testing.T) {
		// v2 changes logo192.png and the main chunk.
		v2 := craBundle("v2")
		v2["logo192.png"] = "v2 logo"
		delete(v2, "static/js/main.8a3b2c1d.js")
		v2["static/js/main.22222222.js"] = "v2 main"
		s := killedBeforeIndex(t, v2, 1)
		if v, _ := LiveVersion(context.Background(), s.s3, s.bucket); v != "v1" {
			t.Fatalf("live %q after a failed publish, want v1", v)
		}
		// v3 has v1's logo again. The live record says the bucket holds it; only the
		// failed run's record tells otherwise.
		v3 := craBundle("v3")
		s.rec.reset()
		s.publishAs("v3", v3)
		if !slices.Contains(s.rec.ops("PutObject"), "logo192.png") {
			t.Errorf("logo192.png, overwritten by the failed run, was not put back: PUTs %v", s.rec.ops("PutObject"))
		}
		want := maps.Clone(v3)
		want["static/js/main.22222222.js"] = "v2 main" // kept while v1 is: v2 may have served it
		s.wantBucket(want)
		s.rec.reset()
		if res := s.publishAs("v3", v3); res.Uploaded != 0 || len(s.rec.ops("HeadObject")) != 0 || len(s.rec.ops("PutObject")) != 0 {
			t.Errorf("re-run after convergence: %d uploads, HEADs %v, PUTs %v", res.Uploaded, s.rec.ops("HeadObject"), s.rec.ops("PutObject"))
		}
	})
	t.Run("killed before index.html, then the same release", func(t *testing.T) {
		v2 := craBundle("v2")
		v2["static/js/main.22222222.js"] = "v2 main"
		s := killedBeforeIndex(t, v2, 1)
		s.rec.reset()
		s.publishAs("v2", v2)
		puts := s.rec.ops("PutObject")
		if want := []string{recordKey(2), "index.html", ManifestKey}; !slices.Equal(puts, want) {
			t.Errorf("re-run PUTs %v, want %v (what the failed run uploaded is checked, not re-sent)", puts, want)
		}
		want := craBundle("v1")
		maps.Copy(want, v2)
		s.wantBucket(want)
		if v, _ := LiveVersion(context.Background(), s.s3, s.bucket); v != "v2" {
			t.Errorf("live %q, want v2", v)
		}
	})
	t.Run("killed twice, then another release", func(t *testing.T) {
		// The second run finds the logo already uploaded, sends nothing for it, and
		// dies too: its record must still name the logo.
		v2 := craBundle("v2")
		v2["logo192.png"] = "v2 logo"
		s := killedBeforeIndex(t, v2, 2)
		s.rec.reset()
		s.publishAs("v3", craBundle("v3"))
		if !slices.Contains(s.rec.ops("PutObject"), "logo192.png") {
			t.Errorf("logo192.png, overwritten two failed runs ago, was not put back: PUTs %v", s.rec.ops("PutObject"))
		}
		s.wantBucket(craBundle("v3"))
	})
	t.Run("killed while pruning", func(t *testing.T) {
		s := newSite(t)
		bundle := func(i int) map[string]string {
			return map[string]string{"index.html": fmt.Sprint(i), fmt.Sprintf("static/js/c.%08d.js", i): fmt.Sprint(i)}
		}
		s.publishAs("r1", bundle(1))
		opts := s.opts(writeBundle(t, bundle(2)))
		opts.Version, opts.Keep = "r2", -1
		if _, err := Publish(context.Background(), &breakingS3{S3API: s.s3, op: "DeleteObjects"}, s.cf, opts); !errors.Is(err, errKilled) {
			t.Fatalf("publish: %v", err)
		}
		opts.Dir = writeBundle(t, bundle(3))
		opts.Version = "r3"
		s.publish(opts)
		s.wantBucket(bundle(3))
		if v := s.manifest().Versions(); !slices.Equal(v, []string{"r3"}) {
			t.Errorf("releases %v, want r3", v)
		}
	})
}

// A bucket published by the first kmdeploy: one manifest with every file of every
// release. The first publish migrates it (checking the bucket once); the next ones
// trust the records.
func TestMigratesSchema1Manifest(t *testing.T) {
	s := newSite(t)
	policy := DefaultPolicy()
	legacyFiles := func(files map[string]string) map[string]legacyFile {
		out := map[string]legacyFile{}
		for key, content := range files {
			sha := sha256hex(content)
			out[key] = legacyFile{SHA256: sha, ETag: md5hex(content), Size: int64(len(content)),
				ContentType: ContentType(key), CacheControl: policy.CacheControl(policy.Classify(key))}
		}
		return out
	}
	old := map[string]string{"index.html": "old", "static/js/old.11111111.js": "old"}
	cur := map[string]string{"index.html": "cur", "static/js/cur.22222222.js": "cur"}
	type legacyRelease struct {
		Version string                `json:"version"`
		Files   map[string]legacyFile `json:"files"`
	}
	manifest, err := json.Marshal(map[string]any{"schema": 1, "live": "cur", "releases": []legacyRelease{
		{"old", legacyFiles(old)}, {"cur", legacyFiles(cur)},
	}})
	if err != nil {
		t.Fatal(err)
	}
	for _, files := range []map[string]string{old, cur} {
		for key, content := range files {
			f := legacyFiles(files)[key]
			_, err := s.s3.PutObject(context.Background(), &s3.PutObjectInput{
				Bucket: aws.String(s.bucket), Key: aws.String(key), Body: strings.NewReader(content),
				ContentType: aws.String(f.ContentType), CacheControl: aws.String(f.CacheControl),
				Metadata: map[string]string{metaSHA256: f.SHA256},
			})
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := s.s3.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(ManifestKey), Body: strings.NewReader(string(manifest))}); err != nil {
		t.Fatal(err)
	}
	if v, err := LiveVersion(context.Background(), s.s3, s.bucket); err != nil || v != "cur" {
		t.Fatalf("LiveVersion of a schema-1 manifest = %q, %v", v, err)
	}

	next := map[string]string{"index.html": "next", "static/js/cur.22222222.js": "cur", "static/js/next.33333333.js": "next"}
	opts := s.opts(writeBundle(t, next))
	opts.Version, opts.Keep = "next", 1
	plan, err := MakePlan(context.Background(), s.s3, opts)
	if err != nil {
		t.Fatal(err)
	}
	var uploads []string
	for _, u := range plan.Uploads {
		uploads = append(uploads, u.Key)
	}
	if !strings.Contains(plan.Check, "older kmdeploy") || !slices.Equal(uploads, []string{"static/js/next.33333333.js", "index.html"}) {
		t.Errorf("check %q, uploads %v; want a migration check and only the new files", plan.Check, uploads)
	}
	if _, err := plan.Apply(context.Background(), s.s3, s.cf); err != nil {
		t.Fatal(err)
	}
	x := s.manifest()
	if x.Schema != indexSchema || x.Bucket != s.bucket || !slices.Equal(x.Versions(), []string{"cur", "next"}) || x.Live != "next" {
		t.Errorf("index %+v", x)
	}
	s.wantBucket(map[string]string{"index.html": "next", "static/js/cur.22222222.js": "cur", "static/js/next.33333333.js": "next"})

	s.rec.reset()
	opts.Dir = writeBundle(t, map[string]string{"index.html": "last", "static/js/next.33333333.js": "next"})
	opts.Version = "last"
	s.publish(opts)
	if lists := s.rec.ops("ListObjectsV2"); len(lists) != 0 {
		t.Errorf("after the migration, the bucket was listed: %q", lists)
	}
	// "next" is kept, so is its chunk that "last" dropped.
	s.wantBucket(map[string]string{"index.html": "last", "static/js/cur.22222222.js": "cur", "static/js/next.33333333.js": "next"})
}

// Records copied with the files into another bucket describe the bucket they came
// from: they are checked before they are trusted.
func TestRecordsOfAnotherBucketAreChecked(t *testing.T) {
	src, dst := newSite(t), newSite(t)
	files := craBundle("v1")
	src.publishAs("v1", files)
	for key := range src.objects() {
		if key == "static/css/main.1234abcd.css" {
			continue // not copied
		}
		_, err := dst.s3.CopyObject(context.Background(), &s3.CopyObjectInput{
			Bucket: aws.String(dst.bucket), Key: aws.String(key), CopySource: aws.String(src.bucket + "/" + key),
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	dst.rec.reset()
	dst.publishAs("v1", files)
	if puts := dst.rec.ops("PutObject"); !slices.Contains(puts, "static/css/main.1234abcd.css") {
		t.Errorf("the file missing from the copy was not uploaded: PUTs %v", puts)
	}
	if x := dst.manifest(); x.Bucket != dst.bucket {
		t.Errorf("index names bucket %q, want %q", x.Bucket, dst.bucket)
	}
	dst.wantBucket(files)
}

// The requests of a re-publish depend on what changed, not on how many files the
// bundle has: one read of the index, one of the live record, one of the next record
// (not found: no publish was left unfinished), the changed files, one record and the
// index. The bucket is not listed.
func TestRepublishRequestsDoNotGrowWithTheBundle(t *testing.T) {
	counts := map[int]map[string][]string{}
	for _, n := range []int{50, 500} {
		s := newSite(t)
		files := map[string]string{"index.html": "v1"}
		for i := range n - 1 {
			files[fmt.Sprintf("static/js/%d.%08d.js", i, i)] = fmt.Sprint(i)
		}
		s.publishAs("v1", files)
		files["index.html"] = "v2"
		files["static/js/0.00000000.js"] = "changed"
		files["static/js/new.12345678.js"] = "new"
		s.rec.reset()
		s.publishAs("v2", files)
		counts[n] = map[string][]string{}
		for _, op := range []string{"GetObject", "HeadObject", "ListObjectsV2", "PutObject", "DeleteObjects"} {
			counts[n][op] = s.rec.calls(op)
		}
		// Unchanged: three reads, nothing written.
		s.rec.reset()
		s.publishAs("v2", files)
		var ops []string
		for _, e := range s.rec.snapshot() {
			if !e.end {
				ops = append(ops, e.op+" "+e.key)
			}
		}
		if want := []string{"GetObject " + ManifestKey, "GetObject " + recordKey(2), "GetObject " + recordKey(3)}; !slices.Equal(sorted(ops), sorted(want)) {
			t.Errorf("%d files, unchanged: requests %q, want %q", n, ops, want)
		}
	}
	want := map[string][]string{
		"GetObject": {ManifestKey, recordKey(1), recordKey(2)},
		"PutObject": {recordKey(2), "static/js/0.00000000.js", "static/js/new.12345678.js", "index.html", ManifestKey},
	}
	for n, got := range counts {
		for op, keys := range got {
			if !slices.Equal(sorted(keys), sorted(want[op])) {
				t.Errorf("%d files: %s %q, want %q", n, op, keys, want[op])
			}
		}
	}
}

func TestRecordRoundTrip(t *testing.T) {
	h := &headers{"text/html; charset=utf-8", "no-cache"}
	r := &record{seq: 7, version: "v\t1 (replaced\n)", bucket: "b", files: map[string]*entry{
		"index.html":      {sum: "aa", etag: "bb", size: 3, hdr: h, last: 7, live: true},
		"we\tird\\na\nme": {sum: "cc", etag: "dd", size: 4, hdr: h, last: 7, live: true},
		"-":               {etag: "ee", size: 5, last: 5},
	}, touched: []string{"index.html", "-"}}
	var buf strings.Builder
	if err := r.encode(&buf); err != nil {
		t.Fatal(err)
	}
	got, err := decodeRecord(strings.NewReader(buf.String()))
	if err != nil {
		t.Fatal(err)
	}
	if got.seq != r.seq || got.version != r.version || got.bucket != r.bucket || !slices.Equal(got.touched, r.touched) {
		t.Errorf("got %+v, want %+v", got, r)
	}
	if !maps.EqualFunc(got.files, r.files, func(a, b *entry) bool {
		return a.sum == b.sum && a.etag == b.etag && a.size == b.size && a.last == b.last && a.live == b.live &&
			(a.hdr == nil) == (b.hdr == nil) && (a.hdr == nil || *a.hdr == *b.hdr)
	}) {
		t.Errorf("files differ after a round trip")
	}
	if _, err := decodeRecord(strings.NewReader("not zstd")); err == nil {
		t.Error("garbage decoded")
	}
}

func sha256hex(s string) string { h := sha256.Sum256([]byte(s)); return hex.EncodeToString(h[:]) }

func sumHex(s string) string { h := xxh3.HashString128(s).Bytes(); return hex.EncodeToString(h[:]) }

func TestScanBundleFollowsFileLinksAndRefusesSpecialFiles(t *testing.T) {
	// static.txt sorts before static/..., static0 after: files come in key order.
	dir := writeBundle(t, map[string]string{"index.html": "<html>", "static/js/a.12345678.js": "a", "static.txt": "t", "static0": "0"})
	if err := os.Symlink(filepath.Join(dir, "static/js/a.12345678.js"), filepath.Join(dir, "linked.js")); err != nil {
		t.Fatal(err)
	}
	b, err := ScanBundle(dir, DefaultPolicy())
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, f := range b.Files {
		keys = append(keys, f.Key)
		if f.Key == "linked.js" && f.Sum != sumHex("a") {
			t.Errorf("linked.js hashed as %s, want the target's hash", f.Sum)
		}
	}
	if want := []string{"index.html", "linked.js", "static.txt", "static/js/a.12345678.js", "static0"}; !slices.Equal(keys, want) {
		t.Errorf("keys %v, want %v", keys, want)
	}
	// A FIFO would block a reader forever: it is refused without being opened.
	if err := syscall.Mkfifo(filepath.Join(dir, "pipe"), 0o644); err != nil {
		t.Fatal(err)
	}
	var be *BundleError
	if _, err := ScanBundle(dir, DefaultPolicy()); !errors.As(err, &be) || !strings.Contains(err.Error(), "pipe, which is not a regular file") {
		t.Errorf("error %v, want a BundleError naming the FIFO", err)
	}
}

func TestRecordKeys(t *testing.T) {
	if seq, ok := recordSeq(recordKey(42)); !ok || seq != 42 {
		t.Errorf("recordSeq(recordKey(42)) = %d, %v", seq, ok)
	}
	for _, key := range []string{ManifestKey, "00000042.tsv.zst", "_releases/42.tsv.zst", "_releases/0000004x.tsv.zst", "_releases/00000042.tsv.gz"} {
		if _, ok := recordSeq(key); ok {
			t.Errorf("%s taken for a record", key)
		}
	}
}
