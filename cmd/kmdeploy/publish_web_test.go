package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront"
	cftypes "github.com/aws/aws-sdk-go-v2/service/cloudfront/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/knowmetools/km-release/internal/webpublish"
	"github.com/knowmetools/km-release/testrig/awsemu/emutest"
)

func TestPublishWebCommand(t *testing.T) {
	ctx := context.Background()
	emu := emutest.Start(t)
	bucket := emutest.UniqueName(t)
	s3c := s3.NewFromConfig(emu.AWSConfig(), func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	dist, err := cloudfront.NewFromConfig(emu.AWSConfig()).CreateDistribution(ctx, &cloudfront.CreateDistributionInput{
		DistributionConfig: &cftypes.DistributionConfig{
			CallerReference: aws.String(bucket), Comment: aws.String(""), Enabled: aws.Bool(true),
			Origins: &cftypes.Origins{Quantity: aws.Int32(1), Items: []cftypes.Origin{{
				Id: aws.String("web"), DomainName: aws.String(bucket + ".s3.amazonaws.com"),
				S3OriginConfig: &cftypes.S3OriginConfig{OriginAccessIdentity: aws.String("")},
			}}},
			DefaultCacheBehavior: &cftypes.DefaultCacheBehavior{
				TargetOriginId: aws.String("web"), ViewerProtocolPolicy: cftypes.ViewerProtocolPolicyAllowAll,
				CachePolicyId: aws.String("658327ea-f89d-4fab-a63d-7e88639e58f6"),
			},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	env := emuEnv(t, map[string]string{"KM_WEB_BUCKET": bucket, "KM_DISTRIBUTION_ID": aws.ToString(dist.Distribution.Id)})

	dir := t.TempDir()
	for key, content := range map[string]string{"index.html": "<html>", "static/js/main.8a3b2c1d.js": "js"} {
		p := filepath.Join(dir, filepath.FromSlash(key))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	if _, stderr, code := kmdeploy(t, env, "publish-web", "--dir", filepath.Join(dir, "nope")); code != 2 || !strings.Contains(stderr, "does not exist") {
		t.Errorf("missing dir: code %d, stderr %s", code, stderr)
	}
	if _, stderr, code := kmdeploy(t, env, "publish-web", "--dir", dir, "--keep", "-1"); code != 2 || !strings.Contains(stderr, "--keep") {
		t.Errorf("--keep -1: code %d, stderr %s", code, stderr)
	}

	stdout, stderr, code := kmdeploy(t, env, "publish-web", "--dir", dir, "--dry-run")
	if code != 0 || !strings.Contains(stdout, "upload     new      entry  index.html") || !strings.Contains(stdout, "invalidate /index.html") {
		t.Fatalf("dry run: code %d\n%s%s", code, stdout, stderr)
	}
	if v, err := webpublish.LiveVersion(ctx, s3c, bucket); err != nil || v != "" {
		t.Errorf("dry run published %q (%v)", v, err)
	}

	stdout, stderr, code = kmdeploy(t, env, "publish-web", "--dir", dir, "--version", "abc123")
	if code != 0 || !strings.Contains(stdout, "release abc123 is live: 2 uploaded") || !strings.Contains(stdout, "Completed") {
		t.Fatalf("publish: code %d\n%s%s", code, stdout, stderr)
	}
	if v, err := webpublish.LiveVersion(ctx, s3c, bucket); err != nil || v != "abc123" {
		t.Errorf("live version %q (%v), want abc123", v, err)
	}

	// A file deleted out of band: a publish trusts the records, --verify repairs it.
	if _, err := s3c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String("static/js/main.8a3b2c1d.js")}); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code = kmdeploy(t, env, "publish-web", "--dir", dir, "--version", "abc123", "--no-wait")
	if code != 0 || !strings.Contains(stdout, "0 uploaded") {
		t.Fatalf("publish: code %d\n%s%s", code, stdout, stderr)
	}
	stdout, stderr, code = kmdeploy(t, env, "publish-web", "--dir", dir, "--version", "abc123", "--no-wait", "--verify")
	if code != 0 || !strings.Contains(stdout, "(--verify)") || !strings.Contains(stdout, "1 uploaded") {
		t.Fatalf("publish --verify: code %d\n%s%s", code, stdout, stderr)
	}
}
