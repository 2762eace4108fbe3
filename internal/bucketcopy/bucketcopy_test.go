package bucketcopy_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"golang.org/x/sync/errgroup"

	"github.com/knowmetools/km-release/internal/bucketcopy"
	"github.com/knowmetools/km-release/testrig/awsemu/emutest"
)

func TestMain(m *testing.M) { emutest.Main(m) }

func newClient(t *testing.T) *s3.Client {
	emu := emutest.Start(t)
	return s3.NewFromConfig(emu.AWSConfig(), func(o *s3.Options) { o.UsePathStyle = true })
}

func makeBucket(t *testing.T, client *s3.Client) string {
	t.Helper()
	name := emutest.UniqueName(t)
	if _, err := client.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		t.Fatal(err)
	}
	return name
}

func fill(t *testing.T, client *s3.Client, bucket string, n int) {
	t.Helper()
	g, ctx := errgroup.WithContext(context.Background())
	g.SetLimit(16)
	for i := range n {
		g.Go(func() error {
			_, err := client.PutObject(ctx, &s3.PutObjectInput{
				Bucket:       aws.String(bucket),
				Key:          aws.String(fmt.Sprintf("media/user %d/photo-%04d.jpg", i%37, i)),
				Body:         strings.NewReader(strings.Repeat("x", i%300+1)),
				ContentType:  aws.String("image/jpeg"),
				CacheControl: aws.String("max-age=60"),
				Metadata:     map[string]string{"owner": fmt.Sprintf("user-%d", i%37)},
			})
			return err
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
}

func TestCopyInterruptedResumesAndVerifies(t *testing.T) {
	client := newClient(t)
	from, to := makeBucket(t, client), makeBucket(t, client)
	fill(t, client, from, 1000)

	dry, err := bucketcopy.Copy(context.Background(), client, bucketcopy.Options{From: from, To: to, DryRun: true})
	if err != nil || len(dry.Copied) != 1000 {
		t.Fatalf("dry run: %v, %d to copy, want 1000", err, len(dry.Copied))
	}
	if out, _ := client.ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{Bucket: aws.String(to)}); len(out.Contents) != 0 {
		t.Fatalf("dry run copied %d objects", len(out.Contents))
	}

	// Interrupt the first run after 300 copies, as a Ctrl-C would.
	ctx, cancel := context.WithCancel(context.Background())
	_, err = bucketcopy.Copy(ctx, client, bucketcopy.Options{From: from, To: to, Workers: 8, Progress: func(_ string, done, _ int) {
		if done == 300 {
			cancel()
		}
	}})
	cancel()
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "run the same command again") {
		t.Fatalf("interrupted copy: err = %v, want a cancellation that says how to resume", err)
	}

	res, err := bucketcopy.Copy(context.Background(), client, bucketcopy.Options{From: from, To: to, Workers: 8})
	if err != nil {
		t.Fatal(err)
	}
	if res.Skipped < 300 || res.Skipped+len(res.Copied) != 1000 {
		t.Fatalf("resumed copy skipped %d and copied %d, want ≥300 skipped and 1000 in all", res.Skipped, len(res.Copied))
	}
	if err := bucketcopy.Verify(context.Background(), client, from, to); err != nil {
		t.Fatal(err)
	}

	head, err := client.HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String(to), Key: aws.String("media/user 5/photo-0005.jpg")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(head.ContentType) != "image/jpeg" || aws.ToString(head.CacheControl) != "max-age=60" || head.Metadata["owner"] != "user-5" {
		t.Fatalf("metadata not kept: type %q cache %q meta %v", aws.ToString(head.ContentType), aws.ToString(head.CacheControl), head.Metadata)
	}

	again, err := bucketcopy.Copy(context.Background(), client, bucketcopy.Options{From: from, To: to})
	if err != nil || len(again.Copied) != 0 || again.Skipped != 1000 {
		t.Fatalf("third run: %v, copied %d skipped %d, want nothing to copy", err, len(again.Copied), again.Skipped)
	}
}

func TestVerifyNamesDifferences(t *testing.T) {
	client := newClient(t)
	from, to := makeBucket(t, client), makeBucket(t, client)
	fill(t, client, from, 3)
	if _, err := bucketcopy.Copy(context.Background(), client, bucketcopy.Options{From: from, To: to}); err != nil {
		t.Fatal(err)
	}
	client.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(to), Key: aws.String("media/user 1/photo-0001.jpg"), Body: strings.NewReader("changed")})
	client.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(from), Key: aws.String("late.txt"), Body: strings.NewReader("new")})
	err := bucketcopy.Verify(context.Background(), client, from, to)
	var mm *bucketcopy.MismatchError
	if !errors.As(err, &mm) || len(mm.Missing) != 1 || len(mm.Different) != 1 {
		t.Fatalf("verify: %v, want 1 missing and 1 different", err)
	}
}

func TestRefusals(t *testing.T) {
	client := newClient(t)
	from := makeBucket(t, client)
	if _, err := bucketcopy.Copy(context.Background(), client, bucketcopy.Options{From: from, To: from}); err == nil {
		t.Fatal("copy of a bucket onto itself accepted")
	}
	_, err := bucketcopy.Copy(context.Background(), client, bucketcopy.Options{From: from, To: "no-such-bucket-" + from})
	if err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("copy to a missing bucket: err = %v", err)
	}
}

// The command prints from Progress without a lock, so Copy must call it one at a time
// and count in order (under -race an unserialised call is also reported as a race).
func TestProgressIsSerialisedAndInOrder(t *testing.T) {
	client := newClient(t)
	from, to := makeBucket(t, client), makeBucket(t, client)
	fill(t, client, from, 200)
	var seen []int // deliberately unguarded
	inCall := false
	_, err := bucketcopy.Copy(context.Background(), client, bucketcopy.Options{From: from, To: to, Workers: 16, Progress: func(_ string, done, total int) {
		if inCall {
			t.Error("Progress called while another call is running")
		}
		inCall = true
		seen = append(seen, done)
		if total != 200 {
			t.Errorf("total = %d, want 200", total)
		}
		inCall = false
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != 200 {
		t.Fatalf("Progress called %d times, want 200", len(seen))
	}
	for i, done := range seen {
		if done != i+1 {
			t.Fatalf("call %d reported done=%d, want %d (calls out of order)", i, done, i+1)
		}
	}
}
