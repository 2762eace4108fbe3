package awsemu_test

import (
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/knowmetools/km-release/testrig/awsemu/emutest"
)

// Each protocol's throttling shape must be one the SDK's retryer retries: the call
// succeeds after the injected failures, and every attempt reached the endpoint.
func TestThrottleIsRetriedByTheSDK(t *testing.T) {
	emu := emutest.Start(t)
	ctx := t.Context()
	cfg := emu.AWSConfig()
	// The SDK's standard retryer decides what to retry; only its backoff is shortened.
	cfg.Retryer = func() aws.Retryer {
		return retry.NewStandard(func(o *retry.StandardOptions) {
			o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return time.Millisecond, nil })
		})
	}
	bucket := emutest.UniqueName(t)
	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		service, op string
		call        func() error
	}{
		{"ecs", "ListClusters", func() error { _, err := ecs.NewFromConfig(cfg).ListClusters(ctx, &ecs.ListClustersInput{}); return err }},
		{"sts", "GetCallerIdentity", func() error {
			_, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
			return err
		}},
		{"ec2", "DescribeVpcs", func() error { _, err := ec2.NewFromConfig(cfg).DescribeVpcs(ctx, &ec2.DescribeVpcsInput{}); return err }},
		{"s3", "PutObject", func() error {
			_, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("k"), Body: strings.NewReader("v")})
			return err
		}},
		{"cloudfront", "ListDistributions", func() error {
			_, err := cloudfront.NewFromConfig(cfg).ListDistributions(ctx, &cloudfront.ListDistributionsInput{})
			return err
		}},
		{"elbv2", "DescribeLoadBalancers", func() error {
			_, err := elb.NewFromConfig(cfg).DescribeLoadBalancers(ctx, &elb.DescribeLoadBalancersInput{})
			return err
		}},
		{"lambda", "ListFunctions", func() error {
			_, err := lambda.NewFromConfig(cfg).ListFunctions(ctx, &lambda.ListFunctionsInput{})
			return err
		}},
	}
	for _, c := range cases {
		before := emu.Faults().Calls(c.service, c.op)
		emu.Faults().Throttle(c.service, c.op, 2)
		if err := c.call(); err != nil {
			t.Errorf("%s %s after 2 throttles: %v", c.service, c.op, err)
			continue
		}
		if got := emu.Faults().Calls(c.service, c.op) - before; got != 3 {
			t.Errorf("%s %s: %d attempts, want 3 (2 throttled + 1)", c.service, c.op, got)
		}
	}

	// As many throttles as the SDK's 3 attempts: the error reaches the caller.
	emu.Faults().Throttle("ecs", "*", 3)
	_, err := ecs.NewFromConfig(cfg).ListClusters(ctx, &ecs.ListClustersInput{})
	if apiCode(err) != "ThrottlingException" {
		t.Errorf("ListClusters throttled 3 times: %v, want ThrottlingException", err)
	}
	if _, err := ecs.NewFromConfig(cfg).ListClusters(ctx, &ecs.ListClustersInput{}); err != nil {
		t.Errorf("ListClusters after the throttles ran out: %v", err)
	}
}

func TestDelay(t *testing.T) {
	emu := emutest.Start(t)
	emu.Faults().Delay("sts", "GetCallerIdentity", 300*time.Millisecond)
	defer emu.Faults().Delay("sts", "GetCallerIdentity", 0)
	start := time.Now()
	if _, err := sts.NewFromConfig(emu.AWSConfig()).GetCallerIdentity(t.Context(), &sts.GetCallerIdentityInput{}); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 300*time.Millisecond {
		t.Errorf("delayed call took %s, want >= 300ms", d)
	}
}
