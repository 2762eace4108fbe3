// Package bucketcopy copies every object of one S3 bucket into another server-side,
// keeping metadata, and proves the copy by listing both sides. It is resumable: objects
// already present at the destination with the same size and ETag are not copied again.
package bucketcopy

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"golang.org/x/sync/errgroup"
)

// maxCopyObjectSize is CopyObject's limit; larger objects need a multipart copy.
const maxCopyObjectSize = 5 << 30

// API is the part of the S3 client the copy uses.
type API interface {
	s3.ListObjectsV2APIClient
	CopyObject(ctx context.Context, in *s3.CopyObjectInput, optFns ...func(*s3.Options)) (*s3.CopyObjectOutput, error)
}

// Options says what to copy.
type Options struct {
	From, To string
	Workers  int  // parallel copies; default 16
	DryRun   bool // list what would be copied, copy nothing
	// Progress, when set, is called after each object is copied, one call at a time
	// with done increasing, so it may write to a plain writer.
	Progress func(key string, done, total int)
}

// Result counts what a run did.
type Result struct {
	SourceObjects int
	Copied        []string // copied (or, with DryRun, to copy)
	Skipped       int      // already at the destination
	CopiedBytes   int64
}

type object struct {
	Size int64
	ETag string
}

// Copy copies the missing or different objects, then verifies both sides.
func Copy(ctx context.Context, client API, opts Options) (*Result, error) {
	if opts.From == "" || opts.To == "" || opts.From == opts.To {
		return nil, fmt.Errorf("bucket copy needs two different buckets: --from %q --to %q", opts.From, opts.To)
	}
	if opts.Workers <= 0 {
		opts.Workers = 16
	}
	src, err := list(ctx, client, opts.From)
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", opts.From, err)
	}
	dst, err := list(ctx, client, opts.To)
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", opts.To, err)
	}
	res := &Result{SourceObjects: len(src)}
	var todo []string
	for key, o := range src {
		if d, ok := dst[key]; ok && sameObject(o, d) {
			res.Skipped++
			continue
		}
		if o.Size > maxCopyObjectSize {
			return nil, fmt.Errorf("%s is %d bytes, over CopyObject's 5 GiB limit: copy it with `aws s3 cp` (multipart), then run this again to copy and verify the rest", key, o.Size)
		}
		todo = append(todo, key)
	}
	res.Copied = todo
	if opts.DryRun {
		return res, nil
	}

	var (
		done        atomic.Int64
		copiedBytes atomic.Int64
		progressMu  sync.Mutex
		reported    int
	)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(opts.Workers)
	for _, key := range todo {
		g.Go(func() error {
			_, err := client.CopyObject(gctx, &s3.CopyObjectInput{
				Bucket:            aws.String(opts.To),
				Key:               aws.String(key),
				CopySource:        aws.String(copySource(opts.From, key)),
				MetadataDirective: types.MetadataDirectiveCopy,
				TaggingDirective:  types.TaggingDirectiveCopy,
			})
			if err != nil {
				return fmt.Errorf("copying %s: %w", key, err)
			}
			copiedBytes.Add(src[key].Size)
			done.Add(1)
			if opts.Progress != nil {
				// The workers copy in parallel; the caller's callback is serialised.
				progressMu.Lock()
				reported++
				opts.Progress(key, reported, len(todo))
				progressMu.Unlock()
			}
			return nil
		})
	}
	err = g.Wait()
	res.CopiedBytes = copiedBytes.Load()
	if err != nil {
		return res, fmt.Errorf("%w (%d of %d copied; run the same command again to resume)", err, done.Load(), len(todo))
	}
	return res, Verify(ctx, client, opts.From, opts.To)
}

// MismatchError lists the keys that differ after a copy.
type MismatchError struct {
	Missing   []string
	Different []string
}

func (e *MismatchError) Error() string {
	return fmt.Sprintf("destination does not match source: %d missing, %d different (first: %s)", len(e.Missing), len(e.Different), strings.Join(first(append(e.Missing, e.Different...), 5), ", "))
}

// Verify lists both buckets and checks every source object is at the destination with
// the same size and ETag (size only for multipart ETags, which a copy recomputes).
func Verify(ctx context.Context, client API, from, to string) error {
	src, err := list(ctx, client, from)
	if err != nil {
		return err
	}
	dst, err := list(ctx, client, to)
	if err != nil {
		return err
	}
	var mm MismatchError
	for key, o := range src {
		d, ok := dst[key]
		switch {
		case !ok:
			mm.Missing = append(mm.Missing, key)
		case !sameObject(o, d):
			mm.Different = append(mm.Different, key)
		}
	}
	if len(mm.Missing)+len(mm.Different) > 0 {
		return &mm
	}
	return nil
}

func sameObject(src, dst object) bool {
	if src.Size != dst.Size {
		return false
	}
	if strings.Contains(src.ETag, "-") { // multipart: not an MD5 of the content
		return true
	}
	return src.ETag == dst.ETag
}

func list(ctx context.Context, client API, bucket string) (map[string]object, error) {
	out := map[string]object{}
	p := s3.NewListObjectsV2Paginator(client, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			var nsb *types.NoSuchBucket
			if errors.As(err, &nsb) {
				return nil, fmt.Errorf("bucket %s does not exist: create it first (Terraform owns buckets)", bucket)
			}
			return nil, err
		}
		for _, o := range page.Contents {
			out[aws.ToString(o.Key)] = object{Size: aws.ToInt64(o.Size), ETag: aws.ToString(o.ETag)}
		}
	}
	return out, nil
}

// copySource is "bucket/key" with the key URL-escaped as S3 expects.
func copySource(bucket, key string) string {
	parts := strings.Split(key, "/")
	for i, p := range parts {
		parts[i] = url.PathEscape(p)
	}
	return bucket + "/" + strings.Join(parts, "/")
}

func first(s []string, n int) []string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
