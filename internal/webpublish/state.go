package webpublish

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"golang.org/x/sync/errgroup"
)

// state is what the bucket holds before a publish, as far as its records tell, checked
// against a listing where they may be stale.
type state struct {
	index   *Index // nil for a bucket without one
	liveSeq int64  // 0 when nothing is live
	files   map[string]*entry
	// check says why the records were compared with a listing of the whole bucket;
	// empty when they were trusted.
	check string
	// missing are recorded keys the listing did not show: deleted out of band.
	missing map[string]bool
	// records are the record objects in the bucket, by key: those the listing shows,
	// or, when the bucket is not listed, those the index names and the unfinished one.
	records map[string]bool
	// suspect are the keys publishes that did not finish may have changed; the next
	// record lists them again, in case this publish does not finish either.
	suspect map[string]bool
	// dirty is set when the records do not describe the bucket as it is: the next
	// release must be recorded even if its bundle is the live one.
	dirty bool
}

// loadState reads the index and the live release's record. It lists the whole bucket
// only when the records cannot be trusted (none, copied from another bucket, written by
// an older kmdeploy, missing) or when verify asks for it; otherwise it reads one more
// record, that of a publish that did not finish, if there is one.
func loadState(ctx context.Context, s3c S3API, bucket string, verify bool) (*state, error) {
	x, legacy, err := readIndex(ctx, s3c, bucket)
	if err != nil {
		return nil, err
	}
	st := &state{index: x, files: map[string]*entry{}, missing: map[string]bool{}, records: map[string]bool{}, suspect: map[string]bool{}}
	live := x.LiveRelease()
	if live != nil {
		st.liveSeq = live.Seq
	}
	var unfinished *record
	switch {
	case x == nil:
		st.check = "the bucket has no release index"
	case legacy != nil:
		st.check = "the release manifest is from an older kmdeploy and is migrated"
		st.files = legacy.files()
	case live == nil:
		st.check = fmt.Sprintf("the release index names %q live, which it does not list last", x.Live)
	case live.Record == "":
		st.check = "the live release has no record"
	default:
		// A publish that wrote its record but never made its release live left it
		// under the next sequence number: read both records at once.
		var rec *record
		g, gctx := errgroup.WithContext(ctx)
		g.Go(func() (err error) {
			rec, err = readRecord(gctx, s3c, bucket, live.Record)
			return err
		})
		g.Go(func() (err error) {
			unfinished, err = readRecord(gctx, s3c, bucket, recordKey(x.nextSeq()))
			return err
		})
		if err := g.Wait(); err != nil {
			return nil, err
		}
		switch {
		case rec == nil:
			st.check = "the live release's record " + live.Record + " is missing"
		case x.Bucket != bucket || rec.bucket != bucket:
			st.check = "the release records were written for bucket " + x.Bucket
			st.files = rec.files
		default:
			st.files = rec.files
		}
	}
	// Records that cannot be trusted are replaced even when the bundle is the live one.
	st.dirty = st.check != ""
	if st.check == "" && verify {
		st.check = "--verify"
	}
	if st.check == "" {
		// The records in the bucket are those of the index, and the unfinished one.
		for _, r := range x.Releases {
			if r.Record != "" {
				st.records[r.Record] = true
			}
		}
		if unfinished != nil {
			st.records[recordKey(x.nextSeq())] = true
			st.dirty = true
			for _, k := range unfinished.touched {
				st.unknown(k)
				st.suspect[k] = true
			}
		}
		return st, nil
	}
	listed, err := listObjects(ctx, s3c, bucket)
	if err != nil {
		return nil, err
	}
	for key := range listed {
		if strings.HasPrefix(key, releasesPrefix) {
			if _, ok := recordSeq(key); ok {
				st.records[key] = true
			}
			delete(listed, key)
		}
	}
	st.reconcile(listed)
	return st, nil
}

// unknown marks key as holding something the records cannot vouch for; a file of the
// new bundle under it is checked with a HEAD, anything else is kept while the live
// release is.
func (st *state) unknown(key string) {
	e := st.files[key]
	if e == nil {
		e = &entry{last: st.liveSeq}
		st.files[key] = e
	}
	e.sum, e.sha256, e.etag = "", "", ""
}

// reconcile corrects the records with a listing: recorded objects that are gone are
// forgotten, objects whose ETag differs become unknown, unrecorded objects are kept
// like files of the live release.
func (st *state) reconcile(listed map[string]remoteObject) {
	for key, e := range st.files {
		o, ok := listed[key]
		switch {
		case !ok:
			delete(st.files, key)
			st.missing[key] = true
			st.dirty = true
		case o.etag != e.etag:
			st.unknown(key)
			e.etag, e.size = o.etag, o.size
			st.dirty = true
		}
	}
	for key, o := range listed {
		if st.files[key] == nil {
			st.files[key] = &entry{etag: o.etag, size: o.size, last: st.liveSeq}
			st.dirty = true
		}
	}
}

// strayRecords are the record objects in the bucket that none of kept uses: records
// of releases no longer kept, or of publishes that did not finish.
func (st *state) strayRecords(kept []ReleaseInfo) []string {
	var stray []string
	for key := range st.records {
		if !slices.ContainsFunc(kept, func(r ReleaseInfo) bool { return r.Record == key }) {
			stray = append(stray, key)
		}
	}
	return stray
}

// remoteObject is what a listing says about one key.
type remoteObject struct {
	etag string
	size int64
}

// listObjects lists the whole bucket.
func listObjects(ctx context.Context, s3c S3API, bucket string) (map[string]remoteObject, error) {
	objs := map[string]remoteObject{}
	pager := s3.NewListObjectsV2Paginator(s3c, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	for pager.HasMorePages() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list s3://%s: %w", bucket, err)
		}
		for _, o := range page.Contents {
			objs[aws.ToString(o.Key)] = remoteObject{etag: strings.Trim(aws.ToString(o.ETag), `"`), size: aws.ToInt64(o.Size)}
		}
	}
	return objs, nil
}

func readRecord(ctx context.Context, s3c S3API, bucket, key string) (*record, error) {
	out, err := s3c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if notFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, &ObjectError{Op: "read release record", Key: key, Err: err}
	}
	defer out.Body.Close()
	rec, err := decodeRecord(out.Body)
	if err != nil {
		return nil, &ObjectError{Op: "parse release record", Key: key,
			Err: fmt.Errorf("%w (delete s3://%s/%s to make the next publish check every object)", err, bucket, key)}
	}
	return rec, nil
}

// files turns a schema-1 manifest into entries: each key as the newest release that
// had it recorded it.
func (m *legacyManifest) files() map[string]*entry {
	files := map[string]*entry{}
	hdrs := map[headers]*headers{}
	for i, r := range m.Releases {
		for key, f := range r.Files {
			h := headers{f.ContentType, f.CacheControl}
			if hdrs[h] == nil {
				hdrs[h] = &h
			}
			e := &entry{sha256: f.SHA256, etag: f.ETag, size: f.Size, hdr: hdrs[h], last: int64(i + 1), live: r.Version == m.Live}
			if f.ContentType == "" && f.CacheControl == "" {
				e.hdr = nil // found in the bucket, never uploaded by kmdeploy
			}
			files[key] = e
		}
	}
	return files
}
