package imageref

import (
	"context"
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/knowmetools/km-release/internal/config"
)

// CopyNeeds are the names a copy into an environment reads: its repository.
var CopyNeeds = config.Needs{Required: []config.Field{config.ECRRepositoryURL}}

// CopyTag is the tag a copy carries in its new repository: the digest itself, so that a
// lifecycle rule expiring untagged images never takes an image an environment runs.
func CopyTag(digest string) string { return strings.Replace(digest, ":", "-", 1) }

// Copy copies src, pinned by digest, into repository (REGISTRY/NAME, without tag or
// digest) under the same digest, tagged CopyTag(digest), and returns it as
// repository@digest. Each registry is read or written with its own ECR credentials,
// so the caller needs read access to src's repository and push access to repository.
// A copy already there is not copied again.
func (r Resolver) Copy(ctx context.Context, src Ref, repository string) (Ref, error) {
	digest, ok := src.ref.(name.Digest)
	if !ok {
		return Ref{}, fmt.Errorf("%w: %s (copy the exact image: REGISTRY/REPOSITORY@sha256:DIGEST)", ErrNotPinned, src)
	}
	dst, err := Parse(repository + "@" + digest.DigestStr())
	if err != nil || strings.Contains(strings.TrimPrefix(repository, dst.Registry()), ":") {
		return Ref{}, fmt.Errorf("destination repository %q: want REGISTRY/REPOSITORY without tag or digest", repository)
	}
	tag := dst.ref.Context().Tag(CopyTag(digest.DigestStr()))

	dstAuth, err := r.auth(ctx, dst.Registry())
	if err != nil {
		return Ref{}, err
	}
	dstOpts := []remote.Option{remote.WithContext(ctx), remote.WithAuth(dstAuth)}
	if have, err := remote.Head(tag, dstOpts...); err == nil && have.Digest.String() == digest.DigestStr() {
		return dst, nil
	}

	srcAuth, err := r.auth(ctx, src.Registry())
	if err != nil {
		return Ref{}, err
	}
	desc, err := remote.Get(src.ref, remote.WithContext(ctx), remote.WithAuth(srcAuth))
	if err != nil {
		return Ref{}, fmt.Errorf("read the source image %s: %w", src, explainRefusal(err))
	}
	if desc.MediaType.IsIndex() {
		idx, err := desc.ImageIndex()
		if err == nil {
			err = remote.WriteIndex(tag, idx, dstOpts...)
		}
		if err != nil {
			return Ref{}, fmt.Errorf("copy %s to %s: %w", src, repository, explainPushRefusal(err))
		}
	} else {
		img, err := desc.Image()
		if err == nil {
			err = remote.Write(tag, img, dstOpts...)
		}
		if err != nil {
			return Ref{}, fmt.Errorf("copy %s to %s: %w", src, repository, explainPushRefusal(err))
		}
	}
	// The registry must now serve the very manifest that was read.
	got, err := remote.Head(dst.ref, dstOpts...)
	if err != nil {
		return Ref{}, fmt.Errorf("check the copy %s: %w", dst, explainRefusal(err))
	}
	if got.Digest.String() != digest.DigestStr() {
		return Ref{}, fmt.Errorf("the copy in %s has digest %s, want %s", repository, got.Digest, digest.DigestStr())
	}
	return dst, nil
}

// explainPushRefusal is explainRefusal for a copy's writes.
func explainPushRefusal(err error) error {
	if refused(err) {
		return fmt.Errorf("%w; the registry refused: on ECR, the role needs ecr:BatchGetImage on the source repository and ecr:PutImage, ecr:InitiateLayerUpload, ecr:UploadLayerPart, ecr:CompleteLayerUpload on the destination", err)
	}
	return err
}
