package webpublish

import "fmt"

// ConfigError is a wrong option; the command maps it to exit code 2.
type ConfigError struct {
	Field  string
	Reason string
}

func (e *ConfigError) Error() string { return fmt.Sprintf("web publish: %s %s", e.Field, e.Reason) }

// BundleError is a bundle directory that cannot be published as it is. Nothing has
// been uploaded when it is returned.
type BundleError struct {
	Dir    string
	Reason string
	Err    error
}

func (e *BundleError) Error() string {
	msg := fmt.Sprintf("web bundle %q %s", e.Dir, e.Reason)
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg + "; nothing was uploaded"
}

func (e *BundleError) Unwrap() error { return e.Err }

// ObjectError is a failed S3 operation on one key.
type ObjectError struct {
	Op  string
	Key string
	Err error
}

func (e *ObjectError) Error() string { return fmt.Sprintf("%s s3 object %q: %v", e.Op, e.Key, e.Err) }
func (e *ObjectError) Unwrap() error { return e.Err }

// InvalidationError is a CloudFront invalidation that could not be created or did not
// complete in time. The bucket already holds the new release when it is returned.
type InvalidationError struct {
	DistributionID string
	InvalidationID string // empty when creation failed
	Err            error
}

func (e *InvalidationError) Error() string {
	if e.InvalidationID == "" {
		return fmt.Sprintf("create cloudfront invalidation on distribution %s: %v (the files are live in S3; re-run to retry the invalidation)", e.DistributionID, e.Err)
	}
	return fmt.Sprintf("wait for cloudfront invalidation %s on distribution %s: %v (it keeps running in AWS: aws cloudfront get-invalidation --distribution-id %s --id %s)",
		e.InvalidationID, e.DistributionID, e.Err, e.DistributionID, e.InvalidationID)
}

func (e *InvalidationError) Unwrap() error { return e.Err }
