package webpublish

import (
	"context"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// S3API is the part of the S3 client a publish uses.
type S3API interface {
	GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	PutObject(ctx context.Context, in *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error)
	HeadObject(ctx context.Context, in *s3.HeadObjectInput, optFns ...func(*s3.Options)) (*s3.HeadObjectOutput, error)
	DeleteObjects(ctx context.Context, in *s3.DeleteObjectsInput, optFns ...func(*s3.Options)) (*s3.DeleteObjectsOutput, error)
	s3.ListObjectsV2APIClient
}

// CloudFrontAPI is the part of the CloudFront client a publish uses.
type CloudFrontAPI interface {
	CreateInvalidation(ctx context.Context, in *cloudfront.CreateInvalidationInput, optFns ...func(*cloudfront.Options)) (*cloudfront.CreateInvalidationOutput, error)
	cloudfront.GetInvalidationAPIClient
}

// maxAttempts per request: a publish is many small requests, and one that gives up
// after the SDK's default three throttled attempts fails the whole release.
const maxAttempts = 8

// NewClients builds the S3 and CloudFront clients a publish needs from cfg. pathStyle
// is for S3 endpoints that cannot serve virtual-hosted buckets (a local emulation set
// through AWS_ENDPOINT_URL). The HTTP pool keeps as many idle connections as uploads
// run in parallel, so connections are reused instead of re-dialled.
func NewClients(cfg aws.Config, pathStyle bool, concurrency int) (*s3.Client, *cloudfront.Client) {
	if concurrency <= 0 {
		concurrency = DefaultConcurrency
	}
	httpClient := awshttp.NewBuildableClient().WithTransportOptions(func(t *http.Transport) {
		t.MaxIdleConnsPerHost = concurrency
		t.MaxIdleConns = max(t.MaxIdleConns, concurrency)
	})
	// The SDK's standard retryer with more attempts and without the client-side retry
	// quota: parallel uploads that all hit S3's SlowDown at once would otherwise drain
	// the quota and fail without retrying.
	retryer := func() aws.Retryer {
		return retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = maxAttempts
			o.RateLimiter = ratelimit.None
		})
	}
	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.UsePathStyle = pathStyle || o.UsePathStyle
		o.HTTPClient = httpClient
		o.Retryer = retryer()
		// Objects uploaded without a checksum (by older tools) make the SDK log a
		// DEBUG line on every read of them; it says nothing actionable to a user.
		o.DisableLogOutputChecksumValidationSkipped = true
	})
	return s3c, cloudfront.NewFromConfig(cfg, func(o *cloudfront.Options) { o.Retryer = retryer() })
}
