package webpublish

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront/types"
)

func createInvalidation(ctx context.Context, cf CloudFrontAPI, distribution, version string, paths []string) (id, status string, err error) {
	// The caller reference makes the SDK's retries of the request idempotent within
	// this run and distinct across runs.
	ref := fmt.Sprintf("kmdeploy-%s-%d", version, time.Now().UnixNano())
	out, err := cf.CreateInvalidation(ctx, &cloudfront.CreateInvalidationInput{
		DistributionId: aws.String(distribution),
		InvalidationBatch: &types.InvalidationBatch{
			CallerReference: aws.String(ref),
			Paths:           &types.Paths{Quantity: aws.Int32(int32(len(paths))), Items: paths},
		},
	})
	if err != nil {
		return "", "", err
	}
	return aws.ToString(out.Invalidation.Id), aws.ToString(out.Invalidation.Status), nil
}

// waitInvalidation waits with the SDK's InvalidationCompleted waiter and prints the
// status at every check.
func waitInvalidation(ctx context.Context, cf CloudFrontAPI, o Options, id string) (string, error) {
	start := time.Now()
	status := ""
	w := cloudfront.NewInvalidationCompletedWaiter(cf, func(wo *cloudfront.InvalidationCompletedWaiterOptions) {
		wo.MinDelay = o.PollInterval
		wo.MaxDelay = max(o.PollInterval, time.Minute)
		modelled := wo.Retryable
		wo.Retryable = func(ctx context.Context, in *cloudfront.GetInvalidationInput, out *cloudfront.GetInvalidationOutput, err error) (bool, error) {
			if err == nil && out != nil && out.Invalidation != nil {
				status = aws.ToString(out.Invalidation.Status)
				fmt.Fprintf(o.Log, "invalidation %s: %s (%s)\n", id, status, time.Since(start).Round(time.Second))
			}
			return modelled(ctx, in, out, err)
		}
	})
	fmt.Fprintf(o.Log, "waiting up to %s for invalidation %s (pass --no-wait to skip)\n", o.WaitTimeout, id)
	err := w.Wait(ctx, &cloudfront.GetInvalidationInput{DistributionId: aws.String(o.DistributionID), Id: aws.String(id)}, o.WaitTimeout)
	return status, err
}
