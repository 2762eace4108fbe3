package webpublish

import (
	"context"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go/middleware"

	"github.com/knowmetools/km-release/testrig/syncbuf"
)

// craBundle is shaped like create-react-app's build/ output.
func craBundle(version string) map[string]string {
	return map[string]string{
		"index.html":                        `<script src="/static/js/main.8a3b2c1d.js"></script>` + version,
		"manifest.json":                     `{"name":"Know Me"}`,
		"asset-manifest.json":               `{"main.js":"/static/js/main.8a3b2c1d.js"}`,
		"service-worker.js":                 "self.addEventListener('fetch', () => {})",
		"robots.txt":                        "User-agent: *",
		"favicon.ico":                       "ico",
		"logo192.png":                       "png",
		"site.webmanifest":                  "{}",
		"static/js/main.8a3b2c1d.js":        "console.log('main')",
		"static/js/main.8a3b2c1d.js.map":    "{}",
		"static/js/2.abcdef12.chunk.mjs":    "export {}",
		"static/css/main.1234abcd.css":      "body{}",
		"static/media/logo.5d5d9eef.svg":    "<svg/>",
		"static/media/inter.0f1e2d3c.woff2": "woff2",
		"static/wasm/calc.77aa88bb.wasm":    "wasm",
	}
}

func TestPublishContentTypesCacheHeadersAndOrder(t *testing.T) {
	s := newSite(t)
	files := craBundle("v1")
	res := s.publish(s.opts(writeBundle(t, files)))

	if res.Uploaded != len(files) || res.Unchanged != 0 {
		t.Errorf("uploaded %d, unchanged %d; want %d and 0", res.Uploaded, res.Unchanged, len(files))
	}
	want := map[string][2]string{
		"index.html":                        {"text/html; charset=utf-8", "no-cache"},
		"manifest.json":                     {"application/json", "no-cache"},
		"site.webmanifest":                  {"application/manifest+json", "no-cache"},
		"service-worker.js":                 {"text/javascript; charset=utf-8", "no-cache"},
		"logo192.png":                       {"image/png", "no-cache"},
		"static/js/main.8a3b2c1d.js":        {"text/javascript; charset=utf-8", DefaultHashedCacheControl},
		"static/js/main.8a3b2c1d.js.map":    {"application/json", DefaultHashedCacheControl},
		"static/js/2.abcdef12.chunk.mjs":    {"text/javascript; charset=utf-8", DefaultHashedCacheControl},
		"static/css/main.1234abcd.css":      {"text/css; charset=utf-8", DefaultHashedCacheControl},
		"static/media/logo.5d5d9eef.svg":    {"image/svg+xml", DefaultHashedCacheControl},
		"static/media/inter.0f1e2d3c.woff2": {"font/woff2", DefaultHashedCacheControl},
		"static/wasm/calc.77aa88bb.wasm":    {"application/wasm", DefaultHashedCacheControl},
	}
	for key, w := range want {
		h := s.head(key)
		if got := aws.ToString(h.ContentType); got != w[0] {
			t.Errorf("%s: Content-Type %q, want %q", key, got, w[0])
		}
		if got := aws.ToString(h.CacheControl); got != w[1] {
			t.Errorf("%s: Cache-Control %q, want %q", key, got, w[1])
		}
		if got := h.Metadata[metaSHA256]; got != sha256hex(files[key]) {
			t.Errorf("%s: sha256 metadata %q, want the content's %s", key, got, sha256hex(files[key]))
		}
	}

	// Entry points start only after every other file is in; index.html is last.
	events := s.rec.snapshot()
	lastAssetEnd, firstEntryStart, indexStart, lastEntryEnd := -1, len(events), -1, -1
	for i, e := range events {
		if e.op != "PutObject" || e.key == ManifestKey {
			continue
		}
		entry := DefaultPolicy().Classify(e.key) == KindEntry
		switch {
		case !entry && e.end:
			lastAssetEnd = i
		case entry && !e.end && i < firstEntryStart:
			firstEntryStart = i
		case e.key == "index.html" && !e.end:
			indexStart = i
		case entry && e.key != "index.html" && e.end:
			lastEntryEnd = i
		}
	}
	if lastAssetEnd < 0 || lastAssetEnd > firstEntryStart {
		t.Errorf("an entry point started (event %d) before the last asset finished (event %d): %v", firstEntryStart, lastAssetEnd, events)
	}
	if indexStart < lastEntryEnd {
		t.Errorf("index.html started (event %d) before the other entry points finished (event %d)", indexStart, lastEntryEnd)
	}
	if puts := s.rec.ops("PutObject"); puts[len(puts)-1] != ManifestKey {
		t.Errorf("the manifest is not written after the files: %v", puts)
	}

	// First publish: every non-hashed file is invalidated, and the wait saw completion.
	if res.InvalidationID == "" || res.InvalidationStatus != "Completed" {
		t.Errorf("invalidation %q status %q, want an id and Completed", res.InvalidationID, res.InvalidationStatus)
	}
	inv, err := s.cf.GetInvalidation(context.Background(), invalidationInput(s.distID, res.InvalidationID))
	if err != nil {
		t.Fatal(err)
	}
	got := inv.Invalidation.InvalidationBatch.Paths.Items
	slices.Sort(got)
	wantPaths := []string{"/", "/asset-manifest.json", "/favicon.ico", "/index.html", "/logo192.png", "/manifest.json", "/robots.txt", "/service-worker.js", "/site.webmanifest"}
	if !slices.Equal(got, wantPaths) {
		t.Errorf("invalidated %v, want %v", got, wantPaths)
	}

	m := s.manifest()
	if m.Live != res.Version || len(m.Releases) != 1 || m.Releases[0].Files != len(files) {
		t.Errorf("manifest live %q releases %d, want %q and 1 release of %d files", m.Live, len(m.Releases), res.Version, len(files))
	}
	if v, err := LiveVersion(context.Background(), s.s3, s.bucket); err != nil || v != res.Version {
		t.Errorf("LiveVersion = %q, %v; want %q", v, err, res.Version)
	}
}

func TestPublishUploadsOnlyChanges(t *testing.T) {
	s := newSite(t)
	files := craBundle("v1")
	first := s.publish(s.opts(writeBundle(t, files)))

	files["index.html"] = `<script src="/static/js/main.99887766.js"></script>`
	delete(files, "static/js/main.8a3b2c1d.js")
	files["static/js/main.99887766.js"] = "console.log('v2')"
	s.rec.reset()
	opts := s.opts(writeBundle(t, files))
	opts.Version = "v2"
	second := s.publish(opts)

	puts := s.rec.ops("PutObject")
	if want := []string{recordKey(2), "static/js/main.99887766.js", "index.html", ManifestKey}; !slices.Equal(puts, want) {
		t.Errorf("PUTs %v, want %v", puts, want)
	}
	if second.Unchanged != len(files)-2 {
		t.Errorf("unchanged %d, want %d", second.Unchanged, len(files)-2)
	}
	inv, err := s.cf.GetInvalidation(context.Background(), invalidationInput(s.distID, second.InvalidationID))
	if err != nil {
		t.Fatal(err)
	}
	if got := inv.Invalidation.InvalidationBatch.Paths.Items; !slices.Equal(sorted(got), []string{"/", "/index.html"}) {
		t.Errorf("invalidated %v, want / and /index.html only (hashed files are never invalidated)", got)
	}
	// The previous release's chunk stays for open sessions.
	if _, ok := s.objects()["static/js/main.8a3b2c1d.js"]; !ok {
		t.Error("the previous release's chunk was deleted at once")
	}

	// Unchanged re-publish: no PUT at all, no invalidation.
	s.rec.reset()
	before := s.invalidationCount()
	third := s.publish(opts)
	if puts := s.rec.ops("PutObject"); len(puts) != 0 || third.Uploaded != 0 {
		t.Errorf("unchanged re-publish made PUTs %v", puts)
	}
	if third.InvalidationID != "" || s.invalidationCount() != before {
		t.Errorf("unchanged re-publish invalidated %q", third.InvalidationID)
	}
	if m := s.manifest(); m.Live != "v2" || len(m.Releases) != 2 || m.Releases[0].Version != first.Version {
		t.Errorf("manifest live %q releases %v", m.Live, versions(m))
	}
}

func TestPublishFixesHeadersOfPreexistingObjects(t *testing.T) {
	s := newSite(t)
	files := craBundle("v1")
	// What an old `aws s3 sync` left: same bytes, wrong type, default caching, plus a
	// file the new bundle no longer has.
	for key, content := range map[string]string{"index.html": files["index.html"], "old.js": "old"} {
		_, err := s.s3.PutObject(context.Background(), &s3.PutObjectInput{
			Bucket: aws.String(s.bucket), Key: aws.String(key), Body: strings.NewReader(content),
			ContentType: aws.String("binary/octet-stream"),
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	s.rec.reset()
	s.publish(s.opts(writeBundle(t, files)))
	if !slices.Contains(s.rec.ops("HeadObject"), "index.html") {
		t.Error("an object of unknown origin was not checked")
	}
	if h := s.head("index.html"); aws.ToString(h.ContentType) != "text/html; charset=utf-8" || aws.ToString(h.CacheControl) != "no-cache" {
		t.Errorf("index.html headers not fixed: %q %q", aws.ToString(h.ContentType), aws.ToString(h.CacheControl))
	}
	m := s.manifest()
	if len(m.Releases) != 2 || m.Releases[0].Version != preManifestVersion {
		t.Fatalf("releases %v, want the pre-existing objects recorded first", versions(m))
	}
	if _, ok := s.objects()["old.js"]; !ok {
		t.Error("a pre-existing object was deleted before its retention ended")
	}
}

func TestRetentionAndPruningAcrossReleases(t *testing.T) {
	s := newSite(t)
	chunk := func(i int) string { return "static/js/chunk." + strings.Repeat(string(rune('0'+i)), 8) + ".js" }
	publish := func(i int) *Result {
		files := map[string]string{
			"index.html":  "release " + string(rune('0'+i)),
			chunk(i):      "chunk " + string(rune('0'+i)),
			"logo192.png": "shared by every release",
		}
		if i == 1 || i == 5 {
			files["static/js/shared.a1b2c3d4.js"] = "in releases 1 and 5"
		}
		opts := s.opts(writeBundle(t, files))
		opts.Version = "r" + string(rune('0'+i))
		return s.publish(opts)
	}
	for i := 1; i <= 4; i++ {
		if res := publish(i); res.Deleted != 0 {
			t.Fatalf("release %d deleted %d files within retention", i, res.Deleted)
		}
	}
	objs := s.objects()
	for i := 1; i <= 4; i++ {
		if _, ok := objs[chunk(i)]; !ok {
			t.Errorf("after 4 releases, %s (release %d) is gone", chunk(i), i)
		}
	}
	if m := s.manifest(); !slices.Equal(versions(m), []string{"r1", "r2", "r3", "r4"}) || m.Live != "r4" {
		t.Errorf("manifest %v live %q", versions(m), m.Live)
	}

	s.rec.reset()
	res := publish(5)
	if res.Deleted != 2 {
		t.Errorf("deleted %d objects, want 2 (release 1's own chunk and its record)", res.Deleted)
	}
	objs = s.objects()
	if _, ok := objs[chunk(1)]; ok {
		t.Errorf("%s of release 1 (beyond the 3 kept) was not pruned", chunk(1))
	}
	for _, key := range []string{chunk(2), chunk(3), chunk(4), chunk(5), "logo192.png", "static/js/shared.a1b2c3d4.js", "index.html"} {
		if _, ok := objs[key]; !ok {
			t.Errorf("%s was pruned but a kept release needs it", key)
		}
	}
	if m := s.manifest(); !slices.Equal(versions(m), []string{"r2", "r3", "r4", "r5"}) || m.Live != "r5" {
		t.Errorf("manifest %v live %q, want r2..r5 live r5", versions(m), m.Live)
	}
	// The record first, the files, the deletion after every upload, the index last.
	var order []string
	for _, e := range s.rec.snapshot() {
		if e.end && (e.op == "DeleteObjects" || e.op == "PutObject") {
			order = append(order, e.op+" "+e.key)
		}
	}
	want := []string{"PutObject " + recordKey(5), "PutObject " + chunk(5), "PutObject index.html", "DeleteObjects 2", "PutObject " + ManifestKey}
	if !slices.Equal(order, want) {
		t.Errorf("order %v, want %v", order, want)
	}
}

func TestDryRunChangesNothing(t *testing.T) {
	s := newSite(t)
	files := craBundle("v1")
	for i := 1; i <= 4; i++ {
		files["static/js/c"+string(rune('0'+i))+".1122aabb.js"] = "x"
		opts := s.opts(writeBundle(t, files))
		opts.Version = "r" + string(rune('0'+i))
		opts.Keep = -1 // prune at every release, so a dry run has deletes to show
		if i < 4 {
			s.publish(opts)
		}
	}
	files["index.html"] = "changed"
	delete(files, "static/js/c1.1122aabb.js")
	before := s.objects()
	invs := s.invalidationCount()
	s.rec.reset()

	opts := s.opts(writeBundle(t, files))
	opts.Keep = -1
	plan, err := MakePlan(context.Background(), s.s3, opts)
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	plan.Print(&out)
	t.Log(out.String())
	for _, want := range []string{"upload     changed  entry  index.html", "upload     new      hashed static/js/c4.1122aabb.js", "delete     static/js/c1.1122aabb.js", "pruned: r3", "invalidate /index.html"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("dry run output lacks %q", want)
		}
	}
	for _, e := range s.rec.snapshot() {
		if e.op != "ListObjectsV2" && e.op != "GetObject" && e.op != "HeadObject" {
			t.Errorf("dry run made a %s request", e.op)
		}
	}
	if after := s.objects(); !maps.Equal(before, after) {
		t.Error("dry run changed the bucket")
	}
	if s.invalidationCount() != invs {
		t.Error("dry run created an invalidation")
	}
}

func TestRefusesBadBundlesBeforeAnyRequest(t *testing.T) {
	s := newSite(t)
	file := filepath.Join(t.TempDir(), "index.html")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := map[string]struct{ dir, want string }{
		"missing":       {filepath.Join(t.TempDir(), "build"), "does not exist"},
		"empty":         {t.TempDir(), "is empty"},
		"no index.html": {writeBundle(t, map[string]string{"static/js/a.12345678.js": "x"}), "no index.html"},
		"a file":        {file, "not a directory"},
		"unset":         {"", "--dir"},
		"reserved":      {writeBundle(t, map[string]string{"index.html": "x", "_releases/manifest.json": "{}"}), "reserved"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			s.rec.reset()
			_, err := Publish(context.Background(), s.s3, s.cf, s.opts(c.dir))
			var be *BundleError
			if !errors.As(err, &be) || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "nothing was uploaded") {
				t.Errorf("error %v, want a BundleError saying %q", err, c.want)
			}
			if ev := s.rec.snapshot(); len(ev) != 0 {
				t.Errorf("requests were made: %v", ev)
			}
		})
	}
	if objs := s.objects(); len(objs) != 0 {
		t.Errorf("bucket holds %d objects", len(objs))
	}
}

func TestNoWaitAndRetriesThrottling(t *testing.T) {
	s := newSite(t)
	emu := emuFor(t)
	// As many throttles in a row as the SDK's default three attempts, after which it
	// would give up: the retryer NewClients configures carries them.
	emu.Faults().Throttle("s3", "PutObject", retry.DefaultMaxAttempts)
	before := emu.Faults().Calls("s3", "PutObject")
	opts := s.opts(writeBundle(t, craBundle("v1")))
	opts.Concurrency = 1
	opts.NoWait = true
	start := time.Now()
	res := s.publish(opts)
	if res.InvalidationID == "" {
		t.Error("no invalidation created")
	}
	if res.Uploaded != len(craBundle("v1")) {
		t.Errorf("uploaded %d", res.Uploaded)
	}
	// The files, the record and the index, and each throttled attempt.
	if calls, want := emu.Faults().Calls("s3", "PutObject")-before, len(craBundle("v1"))+2+retry.DefaultMaxAttempts; calls != want {
		t.Errorf("%d PutObject calls reached S3, want %d", calls, want)
	}
	t.Logf("published through %d throttles in %s", retry.DefaultMaxAttempts, time.Since(start))
}

func sorted(s []string) []string { s = slices.Clone(s); slices.Sort(s); return s }

func versions(m *Index) []string { return m.Versions() }

// CloudFront finishes invalidations at once on the emulation; the first GetInvalidation
// answers are turned into InProgress at the SDK layer to exercise the wait.
func TestInvalidationWaitShowsProgress(t *testing.T) {
	s := newSite(t)
	var mu sync.Mutex
	inProgress := 2
	slow := cloudfront.New(s.cf.Options(), cloudfront.WithAPIOptions(func(stack *middleware.Stack) error {
		return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("pretendInProgress",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				out, md, err := next.HandleInitialize(ctx, in)
				if get, ok := out.Result.(*cloudfront.GetInvalidationOutput); ok && err == nil {
					mu.Lock()
					if inProgress > 0 {
						inProgress--
						get.Invalidation.Status = aws.String("InProgress")
					}
					mu.Unlock()
				}
				return out, md, err
			}), middleware.Before)
	}))
	var log syncbuf.Buffer
	opts := s.opts(writeBundle(t, craBundle("v1")))
	opts.Log = &log
	res, err := Publish(context.Background(), s.s3, slow, opts)
	if err != nil {
		t.Fatal(err)
	}
	if res.InvalidationStatus != "Completed" {
		t.Errorf("status %q", res.InvalidationStatus)
	}
	if n := strings.Count(log.String(), ": InProgress ("); n != 2 {
		t.Errorf("%d InProgress progress lines, want 2:\n%s", n, log.String())
	}

	// A wait that cannot finish in time names the invalidation to follow up on.
	inProgress = 1000
	files := craBundle("v2")
	opts = s.opts(writeBundle(t, files))
	opts.WaitTimeout = 300 * time.Millisecond
	_, err = Publish(context.Background(), s.s3, slow, opts)
	var ie *InvalidationError
	if !errors.As(err, &ie) || ie.InvalidationID == "" || !strings.Contains(err.Error(), "get-invalidation") {
		t.Errorf("error %v, want an InvalidationError naming the invalidation", err)
	}
}

func TestRebuildUnderSameVersionKeepsEarlierFiles(t *testing.T) {
	s := newSite(t)
	opts := s.opts(writeBundle(t, map[string]string{"index.html": "a", "static/js/a.11111111.js": "a"}))
	opts.Version = "v1"
	s.publish(opts)
	opts.Dir = writeBundle(t, map[string]string{"index.html": "b", "static/js/b.22222222.js": "b"})
	s.publish(opts)
	m := s.manifest()
	if len(m.Releases) != 2 || !strings.HasPrefix(m.Releases[0].Version, "v1 (replaced ") || m.Releases[1].Version != "v1" || m.Live != "v1" {
		t.Errorf("releases %v live %q", versions(m), m.Live)
	}
	if _, ok := s.objects()["static/js/a.11111111.js"]; !ok {
		t.Error("the earlier build's chunk was dropped")
	}
	// Republishing identical content is the same release: nothing changes.
	s.rec.reset()
	s.publish(opts)
	if puts := s.rec.ops("PutObject"); len(puts) != 0 {
		t.Errorf("PUTs %v", puts)
	}
}
