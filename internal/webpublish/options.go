package webpublish

import (
	"io"
	"time"
)

// DefaultKeep is how many previous releases keep their files by default: enough for a
// browser session opened three releases ago to keep loading its chunks.
const DefaultKeep = 3

// Defaults for the zero values of Options.
const (
	DefaultConcurrency          = 16
	DefaultWaitTimeout          = 20 * time.Minute
	DefaultPollInterval         = 20 * time.Second
	DefaultMaxInvalidationPaths = 100
)

// Options configure one publish.
type Options struct {
	Dir    string
	Bucket string
	// DistributionID of the CloudFront distribution in front of the bucket; empty skips
	// the invalidation (a bucket served directly).
	DistributionID string
	// Version names the release in the manifest; empty uses the bundle's content digest.
	Version string
	// Keep is how many previous releases keep their files. 0 means DefaultKeep; a
	// negative value keeps none (old files are deleted as soon as the new release is live).
	Keep int
	// Concurrency bounds the parallel S3 requests; 0 means DefaultConcurrency.
	Concurrency int
	Policy      Policy
	// Verify compares the whole bucket with the release records (one listing) and
	// repairs what was deleted or overwritten out of band. Without it a publish trusts
	// the records and reads only what they cannot vouch for.
	Verify bool
	// NoWait returns once the invalidation is created instead of waiting for it.
	NoWait bool
	// WaitTimeout bounds the wait for the invalidation; 0 means DefaultWaitTimeout.
	WaitTimeout time.Duration
	// PollInterval is the first delay between invalidation status checks; 0 means
	// DefaultPollInterval (CloudFront takes minutes; tests use milliseconds).
	PollInterval time.Duration
	// MaxInvalidationPaths above which "/*" is invalidated instead (CloudFront bills per
	// path); 0 means DefaultMaxInvalidationPaths.
	MaxInvalidationPaths int
	// Log receives progress lines; nil discards them.
	Log io.Writer
	// Now is the clock for release timestamps; nil means time.Now.
	Now func() time.Time
}

func (o Options) withDefaults() Options {
	if o.Keep == 0 {
		o.Keep = DefaultKeep
	}
	if o.Keep < 0 {
		o.Keep = 0
	}
	if o.Concurrency <= 0 {
		o.Concurrency = DefaultConcurrency
	}
	if o.WaitTimeout <= 0 {
		o.WaitTimeout = DefaultWaitTimeout
	}
	if o.PollInterval <= 0 {
		o.PollInterval = DefaultPollInterval
	}
	if o.MaxInvalidationPaths <= 0 {
		o.MaxInvalidationPaths = DefaultMaxInvalidationPaths
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Policy.HashedCacheControl == "" && o.Policy.EntryCacheControl == "" && o.Policy.OtherCacheControl == "" && o.Policy.EntryPatterns == nil {
		o.Policy = DefaultPolicy()
	}
	return o
}

func (o Options) validate() error {
	if o.Bucket == "" {
		return &ConfigError{Field: "bucket", Reason: "is not set: set KM_WEB_BUCKET or the web_bucket_name Terraform output"}
	}
	return o.Policy.Validate()
}
