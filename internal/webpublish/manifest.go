package webpublish

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

const (
	releasesPrefix = "_releases/"
	// ManifestKey is the object recording the releases and which one is live.
	ManifestKey = releasesPrefix + "manifest.json"
	// manifestSchema is bumped on incompatible changes, so an old kmdeploy refuses a
	// manifest it would misread instead of pruning the wrong files.
	manifestSchema = 1
	// preManifestVersion names the pseudo-release holding the objects found in a bucket
	// on the first publish (e.g. from an older `aws s3 sync`): they are kept for the
	// retention period like any release instead of being deleted under open sessions.
	preManifestVersion = "pre-manifest"
)

// Manifest is the release history of a bucket: what each release contained, oldest
// first, and which release is live.
type Manifest struct {
	Schema   int       `json:"schema"`
	Live     string    `json:"live"`
	Releases []Release `json:"releases"`
}

// Release is one published bundle.
type Release struct {
	Version     string                `json:"version"`
	PublishedAt time.Time             `json:"published_at"`
	Files       map[string]FileRecord `json:"files"`
}

// FileRecord is what was published under one key.
type FileRecord struct {
	SHA256       string `json:"sha256,omitempty"`
	ETag         string `json:"etag,omitempty"`
	Size         int64  `json:"size"`
	ContentType  string `json:"content_type,omitempty"`
	CacheControl string `json:"cache_control,omitempty"`
}

// LiveRelease returns the release the manifest marks live, or nil.
func (m *Manifest) LiveRelease() *Release {
	return m.release(m.Live)
}

func (m *Manifest) release(version string) *Release {
	for i := range m.Releases {
		if m.Releases[i].Version == version {
			return &m.Releases[i]
		}
	}
	return nil
}

// ReadManifest returns the bucket's release manifest; a bucket without one (never
// published by kmdeploy) gives (nil, nil).
func ReadManifest(ctx context.Context, client *s3.Client, bucket string) (*Manifest, error) {
	out, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(ManifestKey)})
	if err != nil {
		var nsk *types.NoSuchKey
		var api smithy.APIError
		if errors.As(err, &nsk) || errors.As(err, &api) && api.ErrorCode() == "NotFound" {
			return nil, nil
		}
		return nil, &ObjectError{Op: "read release manifest", Key: ManifestKey, Err: err}
	}
	defer out.Body.Close()
	data, err := io.ReadAll(out.Body)
	if err != nil {
		return nil, &ObjectError{Op: "read release manifest", Key: ManifestKey, Err: err}
	}
	var m Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, &ObjectError{Op: "parse release manifest", Key: ManifestKey,
			Err: fmt.Errorf("%w (fix or delete s3://%s/%s; deleting it makes the next publish treat every object as pre-existing)", err, bucket, ManifestKey)}
	}
	if m.Schema > manifestSchema {
		return nil, &ObjectError{Op: "read release manifest", Key: ManifestKey,
			Err: fmt.Errorf("schema %d is newer than this kmdeploy understands (%d): upgrade kmdeploy", m.Schema, manifestSchema)}
	}
	return &m, nil
}

// LiveVersion returns the version of the web release that is live in the bucket, or ""
// when the bucket has never been published by kmdeploy.
func LiveVersion(ctx context.Context, client *s3.Client, bucket string) (string, error) {
	m, err := ReadManifest(ctx, client, bucket)
	if err != nil || m == nil {
		return "", err
	}
	return m.Live, nil
}

func writeManifest(ctx context.Context, client *s3.Client, bucket string, m *Manifest) error {
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	_, err = client.PutObject(ctx, &s3.PutObjectInput{
		Bucket:       aws.String(bucket),
		Key:          aws.String(ManifestKey),
		Body:         bytes.NewReader(data),
		ContentType:  aws.String("application/json"),
		CacheControl: aws.String("no-store"),
	})
	if err != nil {
		return &ObjectError{Op: "write release manifest", Key: ManifestKey, Err: err}
	}
	return nil
}
