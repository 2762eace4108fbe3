package main

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/google/go-containerregistry/pkg/v1/random"

	"github.com/knowmetools/km-release/testrig/awsemu/emutest"
	"github.com/knowmetools/km-release/testrig/ociimage"
)

// kmdeploy image copy puts the same digest in the environment's repository and prints
// it pinned; a source that is not pinned is refused before anything is done.
func TestImageCopyPrintsTheCopyBySameDigest(t *testing.T) {
	emu := emutest.Start(t)
	ctx := t.Context()
	name := emutest.UniqueName(t)
	client := ecr.NewFromConfig(emu.AWSConfig())
	var uris []string
	for _, env := range []string{"staging", "production"} {
		repo, err := client.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String(name + "-" + env)})
		if err != nil {
			t.Fatal(err)
		}
		uris = append(uris, aws.ToString(repo.Repository.RepositoryUri))
	}
	img, err := random.Image(128, 1)
	if err != nil {
		t.Fatal(err)
	}
	src, err := ociimage.Push(ctx, img, uris[0], "abc123", true, nil)
	if err != nil {
		t.Fatal(err)
	}
	digest := src[strings.LastIndexByte(src, '@')+1:]

	env := emuEnv(t, map[string]string{"KM_ENV": "production", "KM_ECR_REPOSITORY_URL": uris[1]})
	stdout, stderr, code := kmdeploy(t, env, "image", "copy", src)
	if want := uris[1] + "@" + digest; code != 0 || strings.TrimSpace(stdout) != want {
		t.Fatalf("image copy: exit %d, stdout %q, want %s\n%s", code, stdout, want, stderr)
	}

	_, stderr, code = kmdeploy(t, env, "image", "copy", uris[0]+":abc123")
	if code == 0 || !strings.Contains(stderr, "not pinned by digest") {
		t.Errorf("image copy of a tag: exit %d, stderr %q; want a refusal naming the digest", code, stderr)
	}
	_, stderr, code = kmdeploy(t, env, "image", "copy", uris[0]+"@sha256:"+strings.Repeat("0", 64))
	if code == 0 || !strings.Contains(stderr, "read the source image") {
		t.Errorf("image copy of a digest the source lacks: exit %d, stderr %q; want the read failure", code, stderr)
	}
}
