package terraform_test

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/knowmetools/km-release/internal/terraform"
	"github.com/knowmetools/km-release/testrig/awsemu/emutest"
)

// The S3 backend against the local AWS emulation: state per workspace under env:/,
// and state locking with an S3 lock object (use_lockfile).
func TestS3BackendWithLocking(t *testing.T) {
	emu := emutest.Start(t)
	c := ctx(t)
	bucket := emutest.UniqueName(t)
	s3c := s3.NewFromConfig(emu.AWSConfig(), func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := s3c.CreateBucket(c, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	f := newFixture(t)
	for _, kv := range emu.Env() {
		k, v, _ := strings.Cut(kv, "=")
		f.env[k] = v
	}
	newRunner := func(lockTimeout time.Duration) *terraform.Runner {
		r, err := terraform.New(terraform.Options{
			Dir:       f.dir,
			Workspace: "staging",
			Backend: terraform.Backend{Kind: "s3", Bucket: bucket, Key: "knowme/terraform.tfstate", Region: emu.Region(),
				Endpoint: emu.Endpoint(), STSEndpoint: emu.Endpoint(), IAMEndpoint: emu.Endpoint()},
			Env:         f.env,
			LockTimeout: lockTimeout,
			Progress:    testWriter{t},
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.Close() })
		return r
	}

	if _, err := newRunner(10*time.Second).AutoApply(c, terraform.Guard{}); err != nil {
		t.Fatal(err)
	}
	stateKey := "env:/staging/knowme/terraform.tfstate"
	obj, err := s3c.GetObject(c, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(stateKey)})
	if err != nil {
		t.Fatalf("state object %s: %v", stateKey, err)
	}
	state, _ := io.ReadAll(obj.Body)
	obj.Body.Close()
	if !bytes.Contains(state, []byte("terraform_data")) {
		t.Errorf("state object does not hold the resources: %.200s", state)
	}

	// Someone else holds the lock: a plan waits for it, then fails naming the lock.
	lockKey := stateKey + ".tflock"
	lockInfo := `{"ID":"7c1b6f0e-0000-0000-0000-000000000000","Operation":"OperationTypeApply","Who":"someone@elsewhere","Version":"1.11.4","Created":"2026-01-01T00:00:00Z","Path":"` + bucket + "/" + stateKey + `"}`
	if _, err := s3c.PutObject(c, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(lockKey), Body: strings.NewReader(lockInfo)}); err != nil {
		t.Fatal(err)
	}
	_, err = newRunner(time.Second).Plan(c, "", terraform.Guard{})
	var locked *terraform.LockedError
	if !errors.As(err, &locked) || !strings.Contains(err.Error(), "someone@elsewhere") {
		t.Fatalf("plan while the state is locked: want LockedError naming the holder, got %v", err)
	}
	if _, err := s3c.DeleteObject(c, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(lockKey)}); err != nil {
		t.Fatal(err)
	}
	r := newRunner(10 * time.Second)
	if got := outputString(t, r, "cluster_name"); got != `"km-staging"` {
		t.Errorf("cluster_name = %s", got)
	}
	// Our own runs release the lock they take.
	if _, err := s3c.HeadObject(c, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(lockKey)}); err == nil {
		t.Error("lock object left behind")
	}
	var noPlan *terraform.NoPlanError
	if _, err := r.Apply(c, "", terraform.Guard{}); !errors.As(err, &noPlan) {
		t.Errorf("apply without a plan: %v", err)
	}
}
