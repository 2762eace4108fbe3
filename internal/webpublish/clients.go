package webpublish

import (
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

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
	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.UsePathStyle = pathStyle || o.UsePathStyle
		o.HTTPClient = httpClient
		// Objects uploaded without a checksum (by older tools) make the SDK log a
		// DEBUG line on every read of them; it says nothing actionable to a user.
		o.DisableLogOutputChecksumValidationSkipped = true
	})
	return s3c, cloudfront.NewFromConfig(cfg)
}
