package dbbackup

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// S3API is the part of the S3 client that moves dumps to and from a bucket.
type S3API interface {
	PutObject(context.Context, *s3.PutObjectInput, ...func(*s3.Options)) (*s3.PutObjectOutput, error)
	GetObject(context.Context, *s3.GetObjectInput, ...func(*s3.Options)) (*s3.GetObjectOutput, error)
}

// IsS3URL reports whether a dump location is s3://BUCKET/KEY rather than a file.
func IsS3URL(location string) bool { return strings.HasPrefix(location, "s3://") }

func splitS3URL(u string) (bucket, key string, err error) {
	rest, ok := strings.CutPrefix(u, "s3://")
	bucket, key, found := strings.Cut(rest, "/")
	if !ok || !found || bucket == "" || key == "" {
		return "", "", fmt.Errorf("%q is not s3://BUCKET/KEY", u)
	}
	return bucket, key, nil
}

// dumpFiles are the dump and the checksum file Backup writes beside it.
var dumpFiles = []string{"", ".sha256"}

// Upload puts the dump at local and its checksum file side by side at dest
// (s3://BUCKET/KEY), encrypted, as Download and Restore expect them.
func Upload(ctx context.Context, client S3API, local, dest string) error {
	bucket, key, err := splitS3URL(dest)
	if err != nil {
		return err
	}
	for _, suffix := range dumpFiles {
		f, err := os.Open(local + suffix)
		if err != nil {
			return err
		}
		_, err = client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key + suffix), Body: f, ServerSideEncryption: "AES256"})
		f.Close()
		if err != nil {
			return fmt.Errorf("uploading to s3://%s/%s: %w", bucket, key+suffix, err)
		}
	}
	return nil
}

// Download fetches the dump at src (s3://BUCKET/KEY) and its checksum file to local.
func Download(ctx context.Context, client S3API, src, local string) error {
	bucket, key, err := splitS3URL(src)
	if err != nil {
		return err
	}
	for _, suffix := range dumpFiles {
		obj, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key + suffix)})
		if err != nil {
			return fmt.Errorf("downloading s3://%s/%s: %w", bucket, key+suffix, err)
		}
		f, err := os.Create(local + suffix)
		if err == nil {
			_, err = io.Copy(f, obj.Body)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
		}
		obj.Body.Close()
		if err != nil {
			return err
		}
	}
	return nil
}
