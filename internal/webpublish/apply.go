package webpublish

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"golang.org/x/sync/errgroup"
)

// metaSHA256 is the user metadata key (x-amz-meta-sha256) holding the content hash,
// for objects whose ETag is not an MD5 (SSE-KMS buckets).
const metaSHA256 = "sha256"

// deleteBatch is the DeleteObjects limit.
const deleteBatch = 1000

// Result is what a publish did.
type Result struct {
	Version        string
	Uploaded       int
	UploadedBytes  int64
	Unchanged      int
	Deleted        int
	InvalidationID string
	// InvalidationStatus is "Completed" after a wait, the creation status with NoWait,
	// and empty when nothing was invalidated.
	InvalidationStatus string
	Duration           time.Duration
}

// Publish plans and applies in one go.
func Publish(ctx context.Context, s3c S3API, cf CloudFrontAPI, opts Options) (*Result, error) {
	p, err := MakePlan(ctx, s3c, opts)
	if err != nil {
		return nil, err
	}
	return p.Apply(ctx, s3c, cf)
}

// Apply records, uploads, invalidates, prunes and names the release live, in the order
// that keeps every page a browser may hold working and lets a re-run finish what a
// failed run started:
//  1. the new release's record, listing every key the run will change;
//  2. new files first, entry points last, index.html alone at the end;
//  3. the invalidation, before the index names the release live, so a run that dies
//     after the uploads invalidates again next time;
//  4. files no kept release needs, and records of releases no longer kept;
//  5. the index, naming the release live: from then on its record is trusted.
func (p *Plan) Apply(ctx context.Context, s3c S3API, cf CloudFrontAPI) (*Result, error) {
	start := time.Now()
	o := p.opts
	res := &Result{Version: p.Version, Unchanged: p.Unchanged}
	if len(p.Invalidations) > 0 && cf == nil {
		return nil, &ConfigError{Field: "cloudfront client", Reason: "is nil but the plan has invalidations"}
	}
	if p.record != nil {
		var body bytes.Buffer
		if err := p.record.encode(&body); err != nil {
			return res, err
		}
		if err := putMeta(ctx, s3c, o.Bucket, recordKey(p.record.seq), "application/zstd", body.Bytes()); err != nil {
			return res, err
		}
	}
	if err := p.upload(ctx, s3c, res); err != nil {
		return res, err
	}
	var inv string
	if len(p.Invalidations) > 0 {
		id, status, err := createInvalidation(ctx, cf, o.DistributionID, p.Version, p.Invalidations)
		if err != nil {
			return res, &InvalidationError{DistributionID: o.DistributionID, Err: err}
		}
		inv, res.InvalidationID, res.InvalidationStatus = id, id, status
		fmt.Fprintf(o.Log, "invalidation %s created for %d paths\n", id, len(p.Invalidations))
	}
	if len(p.Deletes) > 0 {
		n, err := deleteKeys(ctx, s3c, o.Bucket, p.Deletes)
		res.Deleted = n
		if err != nil {
			return res, err
		}
		fmt.Fprintf(o.Log, "pruned %d objects (releases pruned: %v)\n", n, p.Pruned)
	}
	if p.index != nil {
		data, err := json.MarshalIndent(p.index, "", "  ")
		if err != nil {
			return res, err
		}
		if err := putMeta(ctx, s3c, o.Bucket, ManifestKey, "application/json", data); err != nil {
			return res, err
		}
	}
	if inv != "" && !o.NoWait {
		status, err := waitInvalidation(ctx, cf, o, inv)
		if err != nil {
			return res, &InvalidationError{DistributionID: o.DistributionID, InvalidationID: inv, Err: err}
		}
		res.InvalidationStatus = status
	}
	res.Duration = time.Since(start)
	return res, nil
}

// putMeta writes a record or the index; no-store, as they change with every release.
func putMeta(ctx context.Context, s3c S3API, bucket, key, contentType string, data []byte) error {
	_, err := s3c.PutObject(ctx, &s3.PutObjectInput{
		Bucket:       aws.String(bucket),
		Key:          aws.String(key),
		Body:         bytes.NewReader(data),
		ContentType:  aws.String(contentType),
		CacheControl: aws.String("no-store"),
	})
	if err != nil {
		return &ObjectError{Op: "write release record", Key: key, Err: err}
	}
	return nil
}

func (p *Plan) upload(ctx context.Context, s3c S3API, res *Result) error {
	o := p.opts
	var done atomic.Int64
	var sent atomic.Int64
	total := len(p.Uploads)
	stop := startProgress(o.Log, time.Second, func() string {
		return fmt.Sprintf("uploading: %d/%d files, %.1f MB", done.Load(), total, float64(sent.Load())/1e6)
	})
	defer stop()
	for i := 0; i < len(p.Uploads); {
		// One phase at a time: a phase starts only when every file of the one before it
		// is in the bucket.
		j := i
		for j < len(p.Uploads) && uploadPhase(p.Uploads[j]) == uploadPhase(p.Uploads[i]) {
			j++
		}
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(o.Concurrency)
		for _, u := range p.Uploads[i:j] {
			g.Go(func() error {
				if err := putFile(gctx, s3c, o.Bucket, u.File); err != nil {
					return err
				}
				done.Add(1)
				sent.Add(u.Size)
				return nil
			})
		}
		err := g.Wait()
		res.Uploaded, res.UploadedBytes = int(done.Load()), sent.Load()
		if err != nil {
			return err
		}
		i = j
	}
	if total > 0 {
		fmt.Fprintf(o.Log, "uploaded %d files, %.1f MB (%d unchanged)\n", total, float64(sent.Load())/1e6, p.Unchanged)
	}
	return nil
}

func putFile(ctx context.Context, s3c S3API, bucket string, f File) error {
	// Streamed from disk (a seekable body the SDK rewinds for its own retries), so
	// large files do not sit in memory once per worker.
	fh, err := os.Open(f.Path)
	if err != nil {
		return &ObjectError{Op: "upload", Key: f.Key, Err: err}
	}
	defer fh.Close()
	_, err = s3c.PutObject(ctx, &s3.PutObjectInput{
		Bucket:        aws.String(bucket),
		Key:           aws.String(f.Key),
		Body:          fh,
		ContentLength: aws.Int64(f.Size),
		ContentType:   aws.String(f.ContentType),
		CacheControl:  aws.String(f.CacheControl),
		Metadata:      map[string]string{metaSHA256: f.SHA256},
	})
	if err != nil {
		return &ObjectError{Op: "upload", Key: f.Key, Err: err}
	}
	return nil
}

func deleteKeys(ctx context.Context, s3c S3API, bucket string, keys []string) (int, error) {
	deleted := 0
	for start := 0; start < len(keys); start += deleteBatch {
		batch := keys[start:min(start+deleteBatch, len(keys))]
		ids := make([]types.ObjectIdentifier, len(batch))
		for i, k := range batch {
			ids[i] = types.ObjectIdentifier{Key: aws.String(k)}
		}
		out, err := s3c.DeleteObjects(ctx, &s3.DeleteObjectsInput{
			Bucket: aws.String(bucket),
			Delete: &types.Delete{Objects: ids, Quiet: aws.Bool(true)},
		})
		if err != nil {
			return deleted, &ObjectError{Op: "delete", Key: batch[0], Err: err}
		}
		if len(out.Errors) > 0 {
			e := out.Errors[0]
			return deleted + len(batch) - len(out.Errors), &ObjectError{Op: "delete", Key: aws.ToString(e.Key),
				Err: fmt.Errorf("%s: %s (and %d more failures)", aws.ToString(e.Code), aws.ToString(e.Message), len(out.Errors)-1)}
		}
		deleted += len(batch)
	}
	return deleted, nil
}

// startProgress prints line() every interval until stop is called.
func startProgress(w interface{ Write([]byte) (int, error) }, interval time.Duration, line func() string) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				fmt.Fprintln(w, line())
			}
		}
	}()
	return func() { close(done); <-finished }
}
