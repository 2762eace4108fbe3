package envfixture

import (
	"context"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// PushImage pushes a new small random image to the environment's repository under tag
// and returns its reference pinned by digest (REGISTRY/REPOSITORY@sha256:...). Each
// call yields a different digest, like a new build.
func (e *Env) PushImage(ctx context.Context, tag string) (string, error) {
	img, err := random.Image(512, 1)
	if err != nil {
		return "", err
	}
	repo := e.Emu.RegistryHost() + "/" + e.Repository
	ref, err := name.NewTag(repo+":"+tag, name.Insecure)
	if err != nil {
		return "", err
	}
	if err := remote.Write(ref, img, remote.WithContext(ctx)); err != nil {
		return "", fmt.Errorf("push %s: %w", ref, err)
	}
	digest, err := img.Digest()
	if err != nil {
		return "", err
	}
	return repo + "@" + digest.String(), nil
}

// TagRef is the tag form of an image in the environment's repository.
func (e *Env) TagRef(tag string) string {
	return e.Emu.RegistryHost() + "/" + e.Repository + ":" + tag
}
