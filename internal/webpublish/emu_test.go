package webpublish

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront"
	cftypes "github.com/aws/aws-sdk-go-v2/service/cloudfront/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go/middleware"

	"github.com/knowmetools/km-release/testrig/awsemu"
	"github.com/knowmetools/km-release/testrig/awsemu/emutest"
)

func TestMain(m *testing.M) { emutest.Main(m) }

// site is one test environment: a bucket and a distribution on the emulation, with
// every S3 request recorded in order.
type site struct {
	t      *testing.T
	bucket string
	distID string
	s3     *s3.Client
	cf     *cloudfront.Client
	rec    *recorder
}

// event is one S3 request, recorded when it starts and when it ends.
type event struct {
	op, key string
	end     bool
}

type recorder struct {
	mu     sync.Mutex
	events []event
}

func (r *recorder) add(e event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

func (r *recorder) reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = nil
}

func (r *recorder) snapshot() []event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]event(nil), r.events...)
}

// ops lists the keys of the finished requests of one operation.
func (r *recorder) ops(op string) []string { return r.keys(op, true) }

// calls lists the keys of every request of one operation, finished or failed (a read
// of a missing object).
func (r *recorder) calls(op string) []string { return r.keys(op, false) }

func (r *recorder) keys(op string, end bool) []string {
	var keys []string
	for _, e := range r.snapshot() {
		if e.end == end && e.op == op {
			keys = append(keys, e.key)
		}
	}
	return keys
}

// middleware records at the Initialize step, i.e. once per API call around all its
// retries, so the order of starts and ends is the order the caller sees.
func (r *recorder) middleware(stack *middleware.Stack) error {
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("webpublishTestRecorder",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			op := middleware.GetOperationName(ctx)
			key := ""
			switch p := in.Parameters.(type) {
			case *s3.PutObjectInput:
				key = aws.ToString(p.Key)
			case *s3.HeadObjectInput:
				key = aws.ToString(p.Key)
			case *s3.GetObjectInput:
				key = aws.ToString(p.Key)
			case *s3.ListObjectsV2Input:
				key = aws.ToString(p.Prefix)
			case *s3.DeleteObjectsInput:
				key = fmt.Sprint(len(p.Delete.Objects))
			}
			r.add(event{op: op, key: key})
			out, md, err := next.HandleInitialize(ctx, in)
			if err == nil {
				r.add(event{op: op, key: key, end: true})
			}
			return out, md, err
		}), middleware.Before)
}

func newSite(t *testing.T) *site {
	t.Helper()
	emu := emutest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s := &site{t: t, bucket: emutest.UniqueName(t), rec: &recorder{}}
	s3c, cf := NewClients(emu.AWSConfig(), true, 8)
	s.cf = cf
	s.s3 = s3.New(s3c.Options(), s3.WithAPIOptions(s.rec.middleware))
	if _, err := s.s3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(s.bucket)}); err != nil {
		t.Fatalf("create bucket: %v", err)
	}
	out, err := cf.CreateDistribution(ctx, &cloudfront.CreateDistributionInput{DistributionConfig: &cftypes.DistributionConfig{
		CallerReference: aws.String(s.bucket),
		Comment:         aws.String("webpublish test"),
		Enabled:         aws.Bool(true),
		Origins: &cftypes.Origins{Quantity: aws.Int32(1), Items: []cftypes.Origin{{
			Id:             aws.String("web"),
			DomainName:     aws.String(s.bucket + ".s3.amazonaws.com"),
			S3OriginConfig: &cftypes.S3OriginConfig{OriginAccessIdentity: aws.String("")},
		}}},
		DefaultCacheBehavior: &cftypes.DefaultCacheBehavior{
			TargetOriginId:       aws.String("web"),
			ViewerProtocolPolicy: cftypes.ViewerProtocolPolicyRedirectToHttps,
			CachePolicyId:        aws.String("658327ea-f89d-4fab-a63d-7e88639e58f6"),
		},
		DefaultRootObject: aws.String("index.html"),
	}})
	if err != nil {
		t.Fatalf("create distribution: %v", err)
	}
	s.distID = aws.ToString(out.Distribution.Id)
	return s
}

func (s *site) opts(dir string) Options {
	return Options{
		Dir: dir, Bucket: s.bucket, DistributionID: s.distID,
		Concurrency: 8, PollInterval: 50 * time.Millisecond, WaitTimeout: time.Minute,
		Log: testLog{s.t},
	}
}

func (s *site) publish(opts Options) *Result {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := Publish(ctx, s.s3, s.cf, opts)
	if err != nil {
		s.t.Fatalf("publish: %v", err)
	}
	return res
}

// objects lists the bucket as key → ETag.
func (s *site) objects() map[string]string {
	s.t.Helper()
	objs, err := listObjects(context.Background(), s.s3, s.bucket)
	if err != nil {
		s.t.Fatal(err)
	}
	out := map[string]string{}
	for k, o := range objs {
		out[k] = o.etag
	}
	return out
}

func (s *site) head(key string) *s3.HeadObjectOutput {
	s.t.Helper()
	out, err := s.s3.HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(key)})
	if err != nil {
		s.t.Fatalf("head %s: %v", key, err)
	}
	return out
}

func (s *site) manifest() *Index {
	s.t.Helper()
	m, err := ReadIndex(context.Background(), s.s3, s.bucket)
	if err != nil || m == nil {
		s.t.Fatalf("read release index: %v (nil: %v)", err, m == nil)
	}
	return m
}

func (s *site) invalidationCount() int {
	s.t.Helper()
	out, err := s.cf.ListInvalidations(context.Background(), &cloudfront.ListInvalidationsInput{DistributionId: aws.String(s.distID)})
	if err != nil {
		s.t.Fatal(err)
	}
	return int(aws.ToInt32(out.InvalidationList.Quantity))
}

type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Log(string(bytes.TrimRight(p, "\n")))
	return len(p), nil
}

// writeBundle writes files (key → content) under a new temporary directory.
func writeBundle(t testing.TB, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for key, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(key))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func invalidationInput(dist, id string) *cloudfront.GetInvalidationInput {
	return &cloudfront.GetInvalidationInput{DistributionId: aws.String(dist), Id: aws.String(id)}
}

func emuFor(t *testing.T) *awsemu.Emulator { return emutest.Start(t) }
