package webpublish

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

const (
	releasesPrefix = "_releases/"
	// ManifestKey is the release index: which releases are kept and which one is live.
	// It keeps the name the first kmdeploy gave its single manifest, so readers of its
	// "live" field keep working and an older kmdeploy refuses the newer schema instead
	// of publishing over it.
	ManifestKey = releasesPrefix + "manifest.json"
	// indexSchema is bumped on incompatible changes. Schema 1 (one manifest listing
	// every file of every release) is migrated on the first publish.
	indexSchema  = 2
	legacySchema = 1
	// preManifestVersion names the pseudo-release holding the objects found in a bucket
	// on the first publish (e.g. from an older `aws s3 sync`): they are kept for the
	// retention period like any release instead of being deleted under open sessions.
	preManifestVersion = "pre-manifest"
)

// Index is the bucket's release history: small, uncompressed and public like the rest
// of the bucket. The files of each release are in its record (see record.go).
type Index struct {
	Schema int `json:"schema"`
	// Bucket the records describe: records copied into another bucket are checked
	// against that bucket's listing before they are trusted.
	Bucket string `json:"bucket"`
	Live   string `json:"live"`
	// Releases kept, oldest first; the last one is live.
	Releases []ReleaseInfo `json:"releases"`
}

// ReleaseInfo is one published bundle.
type ReleaseInfo struct {
	// Seq orders releases; a file is kept while the last release that had it is kept.
	Seq         int64     `json:"seq"`
	Version     string    `json:"version"`
	PublishedAt time.Time `json:"published_at"`
	// Digest identifies the bundle's content (Bundle.Digest).
	Digest string `json:"digest,omitempty"`
	Files  int    `json:"files"`
	Bytes  int64  `json:"bytes"`
	// Record is the key of the release's record; empty for releases recorded by an
	// older kmdeploy or found in the bucket.
	Record string `json:"record,omitempty"`
}

// LiveRelease returns the release the index marks live, or nil.
func (x *Index) LiveRelease() *ReleaseInfo {
	if x == nil || len(x.Releases) == 0 || x.Releases[len(x.Releases)-1].Version != x.Live {
		return nil
	}
	return &x.Releases[len(x.Releases)-1]
}

// Versions lists the kept releases, oldest first.
func (x *Index) Versions() []string {
	var v []string
	for _, r := range x.Releases {
		v = append(v, r.Version)
	}
	return v
}

// nextSeq is the sequence number of the next release.
func (x *Index) nextSeq() int64 {
	if x == nil || len(x.Releases) == 0 {
		return 1
	}
	return x.Releases[len(x.Releases)-1].Seq + 1
}

// GetObjectAPI reads one object.
type GetObjectAPI interface {
	GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
}

// legacyManifest is schema 1: every file of every release in one object.
type legacyManifest struct {
	Live     string `json:"live"`
	Releases []struct {
		Version     string                `json:"version"`
		PublishedAt time.Time             `json:"published_at"`
		Files       map[string]legacyFile `json:"files"`
	} `json:"releases"`
}

type legacyFile struct {
	SHA256       string `json:"sha256"`
	ETag         string `json:"etag"`
	Size         int64  `json:"size"`
	ContentType  string `json:"content_type"`
	CacheControl string `json:"cache_control"`
}

// ReadIndex returns the bucket's release index; a bucket never published by kmdeploy
// gives (nil, nil). A schema-1 manifest is returned as an index without records.
func ReadIndex(ctx context.Context, client GetObjectAPI, bucket string) (*Index, error) {
	x, _, err := readIndex(ctx, client, bucket)
	return x, err
}

// readIndex also returns the files of a schema-1 manifest, for migration.
func readIndex(ctx context.Context, client GetObjectAPI, bucket string) (*Index, *legacyManifest, error) {
	out, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(ManifestKey)})
	if notFound(err) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, &ObjectError{Op: "read release index", Key: ManifestKey, Err: err}
	}
	defer out.Body.Close()
	// Both schemas share schema and live; releases is read once the schema is known.
	var doc struct {
		Schema   int             `json:"schema"`
		Bucket   string          `json:"bucket"`
		Live     string          `json:"live"`
		Releases json.RawMessage `json:"releases"`
	}
	err = json.NewDecoder(out.Body).Decode(&doc)
	x := &Index{Schema: doc.Schema, Bucket: doc.Bucket, Live: doc.Live}
	var legacy *legacyManifest
	switch {
	case err != nil:
	case doc.Schema == indexSchema:
		err = unmarshalReleases(doc.Releases, &x.Releases)
	case doc.Schema == legacySchema:
		legacy = &legacyManifest{Live: doc.Live}
		err = unmarshalReleases(doc.Releases, &legacy.Releases)
		x = legacy.index()
	default:
		return nil, nil, &ObjectError{Op: "read release index", Key: ManifestKey,
			Err: fmt.Errorf("schema %d is not one this kmdeploy understands (%d): upgrade kmdeploy", doc.Schema, indexSchema)}
	}
	if err != nil {
		return nil, nil, &ObjectError{Op: "parse release index", Key: ManifestKey,
			Err: fmt.Errorf("%w (fix or delete s3://%s/%s; deleting it makes the next publish check every object)", err, bucket, ManifestKey)}
	}
	return x, legacy, nil
}

func unmarshalReleases(raw json.RawMessage, v any) error {
	if len(raw) == 0 {
		return nil
	}
	return json.Unmarshal(raw, v)
}

// index numbers the legacy releases 1, 2, ... oldest first.
func (m *legacyManifest) index() *Index {
	x := &Index{Schema: legacySchema, Live: m.Live}
	for i, r := range m.Releases {
		info := ReleaseInfo{Seq: int64(i + 1), Version: r.Version, PublishedAt: r.PublishedAt, Files: len(r.Files)}
		for _, f := range r.Files {
			info.Bytes += f.Size
		}
		x.Releases = append(x.Releases, info)
	}
	return x
}

// LiveVersion returns the version of the web release that is live in the bucket, or ""
// when the bucket has never been published by kmdeploy.
func LiveVersion(ctx context.Context, client GetObjectAPI, bucket string) (string, error) {
	x, err := ReadIndex(ctx, client, bucket)
	if err != nil || x == nil {
		return "", err
	}
	return x.Live, nil
}

func notFound(err error) bool {
	var nsk *types.NoSuchKey
	var api smithy.APIError
	return errors.As(err, &nsk) || errors.As(err, &api) && api.ErrorCode() == "NotFound"
}
