package awsemu_test

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront"
	cftypes "github.com/aws/aws-sdk-go-v2/service/cloudfront/types"
	"github.com/knowmetools/km-release/internal/awsemu/emutest"
)

func TestCloudFrontInvalidationCompletedWaiterEnds(t *testing.T) {
	emu := emutest.Start(t)
	ctx := t.Context()
	name := emutest.UniqueName(t)
	cf := cloudfront.NewFromConfig(emu.AWSConfig())
	dist, err := cf.CreateDistribution(ctx, &cloudfront.CreateDistributionInput{DistributionConfig: &cftypes.DistributionConfig{
		CallerReference: aws.String(name), Comment: aws.String("web"), Enabled: aws.Bool(true),
		Origins: &cftypes.Origins{Quantity: aws.Int32(1), Items: []cftypes.Origin{{
			Id: aws.String("s3"), DomainName: aws.String(name + ".s3.amazonaws.com"),
			S3OriginConfig: &cftypes.S3OriginConfig{OriginAccessIdentity: aws.String("")},
		}}},
		DefaultCacheBehavior: &cftypes.DefaultCacheBehavior{TargetOriginId: aws.String("s3"), ViewerProtocolPolicy: cftypes.ViewerProtocolPolicyRedirectToHttps},
	}})
	if err != nil {
		t.Fatalf("CreateDistribution: %v", err)
	}
	id := dist.Distribution.Id
	inv, err := cf.CreateInvalidation(ctx, &cloudfront.CreateInvalidationInput{DistributionId: id, InvalidationBatch: &cftypes.InvalidationBatch{
		CallerReference: aws.String(name), Paths: &cftypes.Paths{Quantity: aws.Int32(1), Items: []string{"/*"}},
	}})
	if err != nil {
		t.Fatalf("CreateInvalidation: %v", err)
	}
	w := cloudfront.NewInvalidationCompletedWaiter(cf, func(o *cloudfront.InvalidationCompletedWaiterOptions) {
		o.MinDelay, o.MaxDelay = 100*time.Millisecond, time.Second
	})
	if err := w.Wait(ctx, &cloudfront.GetInvalidationInput{DistributionId: id, Id: inv.Invalidation.Id}, 30*time.Second); err != nil {
		t.Fatalf("InvalidationCompleted waiter: %v", err)
	}
	list, err := cf.ListInvalidations(ctx, &cloudfront.ListInvalidationsInput{DistributionId: id})
	if err != nil || len(list.InvalidationList.Items) != 1 || aws.ToString(list.InvalidationList.Items[0].Status) != "Completed" {
		t.Errorf("ListInvalidations = %+v, %v; want one Completed", list.InvalidationList, err)
	}
}
