package awsemu_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/knowmetools/km-release/testrig/awsemu/emutest"
)

// Requests to the emulation count as secure transport, as against AWS's HTTPS
// endpoints: a bucket's TLS-only statement (every bucket of infra/ has one) lets them
// through, while a statement that denies unconditionally still denies.
func TestBucketPolicyTreatsRequestsAsTLS(t *testing.T) {
	emu := emutest.Start(t)
	ctx := t.Context()
	c := s3.NewFromConfig(emu.AWSConfig(), func(o *s3.Options) { o.UsePathStyle = true })
	bucket := emutest.UniqueName(t)
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	policy := func(condition string) string {
		return fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:*",
			"Resource":["arn:aws:s3:::%[1]s","arn:aws:s3:::%[1]s/*"]%[2]s}]}`, bucket, condition)
	}
	put := func() error {
		_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("index.html"), Body: strings.NewReader("hi")})
		return err
	}
	if _, err := c.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(bucket), Policy: aws.String(policy(`,"Condition":{"Bool":{"aws:SecureTransport":"false"}}`))}); err != nil {
		t.Fatal(err)
	}
	if err := put(); err != nil {
		t.Fatalf("PutObject under a TLS-only policy: %v", err)
	}
	if _, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("index.html")}); err != nil {
		t.Fatalf("GetObject under a TLS-only policy: %v", err)
	}
	if _, err := c.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(bucket), Policy: aws.String(policy(""))}); err != nil {
		t.Fatal(err)
	}
	if err := put(); err == nil {
		t.Fatal("PutObject succeeded under a policy that denies everything")
	}
}
