package awsemu_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/knowmetools/km-release/testrig/awsemu"
	"github.com/knowmetools/km-release/testrig/awsemu/emutest"
)

// BenchmarkStart measures a full start (moto + front end) and stop.
func BenchmarkStart(b *testing.B) {
	for b.Loop() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		emu, err := awsemu.Start(ctx, awsemu.Options{})
		cancel()
		if err != nil {
			b.Fatal(err)
		}
		emu.Close()
	}
}

// BenchmarkBlueGreenDeployment measures one blue/green deployment with a BeforeInstall
// hook that runs a migration task, from CreateDeployment to the SDK's
// DeploymentSuccessful waiter returning.
func BenchmarkBlueGreenDeployment(b *testing.B) {
	emu := emutest.Start(b)
	for b.Loop() {
		b.StopTimer()
		bg := newBlueGreen(b, emu)
		b.StartTimer()
		if err := bg.waitSucceeded(b, bg.deploy(b)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStartFirstCalls adds a first call to each of the main services: moto loads
// a service's backend (and, for IAM, AWS's managed policies) on its first use.
func BenchmarkStartFirstCalls(b *testing.B) {
	for b.Loop() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		emu, err := awsemu.Start(ctx, awsemu.Options{})
		if err != nil {
			cancel()
			b.Fatal(err)
		}
		cfg := emu.AWSConfig()
		calls := map[string]func() error{
			"s3":  func() error { _, err := s3Client(emu).ListBuckets(ctx, &s3.ListBucketsInput{}); return err },
			"ecs": func() error { _, err := ecs.NewFromConfig(cfg).ListClusters(ctx, &ecs.ListClustersInput{}); return err },
			"ec2": func() error { _, err := ec2.NewFromConfig(cfg).DescribeVpcs(ctx, &ec2.DescribeVpcsInput{}); return err },
			"iam": func() error { _, err := iam.NewFromConfig(cfg).ListRoles(ctx, &iam.ListRolesInput{}); return err },
			"elbv2": func() error {
				_, err := elb.NewFromConfig(cfg).DescribeLoadBalancers(ctx, &elb.DescribeLoadBalancersInput{})
				return err
			},
		}
		for name, call := range calls {
			start := time.Now()
			if err := call(); err != nil {
				b.Fatalf("first %s call: %v", name, err)
			}
			b.Logf("first %s call: %s", name, time.Since(start).Round(time.Millisecond))
		}
		cancel()
		emu.Close()
	}
}

// BenchmarkAuthorization is the cost of enforcing IAM on one call: the same call with
// the administrator's static key (never evaluated) and with a role's temporary
// credentials (every call evaluated against the role's policies). Compare the two
// sub-benchmarks' ns/op.
func BenchmarkAuthorization(b *testing.B) {
	emu := emutest.Start(b)
	ctx := context.Background()
	role, err := awsemu.CreateAdminRole(ctx, emu.AWSConfig(), "bench-authorization", "ecs-tasks.amazonaws.com")
	if err != nil {
		b.Fatal(err)
	}
	creds, err := emu.AssumeRoleAs(ctx, "ecs-tasks.amazonaws.com", role, nil)
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		client *ecs.Client
	}{
		{"admin-key", ecs.NewFromConfig(emu.AWSConfig())},
		{"role", ecs.NewFromConfig(emu.ConfigFor(creds))},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := c.client.ListTaskDefinitions(ctx, &ecs.ListTaskDefinitionsInput{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
