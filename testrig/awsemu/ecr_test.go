package awsemu_test

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/knowmetools/km-release/testrig/awsemu/emutest"
)

func TestECRRegistryPushAgreesWithAPI(t *testing.T) {
	emu := emutest.Start(t)
	ctx := t.Context()
	repo := "km/" + emutest.UniqueName(t)
	client := ecr.NewFromConfig(emu.AWSConfig())

	created, err := client.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String(repo)})
	if err != nil {
		t.Fatalf("CreateRepository: %v", err)
	}
	uri := aws.ToString(created.Repository.RepositoryUri)
	if uri != emu.RegistryHost()+"/"+repo {
		t.Fatalf("repositoryUri = %q, want %s/%s", uri, emu.RegistryHost(), repo)
	}
	desc, err := client.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{RepositoryNames: []string{repo}})
	if err != nil || aws.ToString(desc.Repositories[0].RepositoryUri) != uri {
		t.Fatalf("DescribeRepositories: %+v %v", desc, err)
	}

	img, err := random.Image(512, 2)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.ParseReference(uri+":abc123", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img, remote.WithContext(ctx)); err != nil {
		t.Fatalf("push %s: %v", ref, err)
	}
	digest, _ := img.Digest()

	images, err := client.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: aws.String(repo),
		ImageIds: []ecrtypes.ImageIdentifier{{ImageTag: aws.String("abc123")}}})
	if err != nil {
		t.Fatalf("DescribeImages: %v", err)
	}
	if got := aws.ToString(images.ImageDetails[0].ImageDigest); got != digest.String() {
		t.Errorf("DescribeImages digest %s, pushed %s", got, digest)
	}
	got, err := client.BatchGetImage(ctx, &ecr.BatchGetImageInput{RepositoryName: aws.String(repo),
		ImageIds: []ecrtypes.ImageIdentifier{{ImageDigest: aws.String(digest.String())}}})
	if err != nil || len(got.Images) != 1 {
		t.Fatalf("BatchGetImage: %+v %v", got, err)
	}
	raw, _ := img.RawManifest()
	if aws.ToString(got.Images[0].ImageManifest) != string(raw) {
		t.Errorf("BatchGetImage manifest differs from the pushed one")
	}
	list, err := client.ListImages(ctx, &ecr.ListImagesInput{RepositoryName: aws.String(repo)})
	if err != nil || len(list.ImageIds) != 1 || aws.ToString(list.ImageIds[0].ImageDigest) != digest.String() {
		t.Errorf("ListImages = %+v, %v", list, err)
	}
	pulled, err := remote.Image(ref, remote.WithContext(ctx))
	if err != nil {
		t.Fatalf("pull: %v", err)
	}
	if d, _ := pulled.Digest(); d != digest {
		t.Errorf("pulled %s, pushed %s", d, digest)
	}

	auth, err := client.GetAuthorizationToken(ctx, &ecr.GetAuthorizationTokenInput{})
	if err != nil {
		t.Fatalf("GetAuthorizationToken: %v", err)
	}
	if got := aws.ToString(auth.AuthorizationData[0].ProxyEndpoint); got != "http://"+emu.RegistryHost() {
		t.Errorf("proxyEndpoint = %q", got)
	}
	if tok, err := base64.StdEncoding.DecodeString(aws.ToString(auth.AuthorizationData[0].AuthorizationToken)); err != nil || !strings.HasPrefix(string(tok), "AWS:") {
		t.Errorf("authorization token %q does not decode to AWS:<password>", tok)
	}

	missing, _ := name.ParseReference(emu.RegistryHost()+"/no/such-repo:1", name.Insecure)
	if err := remote.Write(missing, img, remote.WithContext(ctx)); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("push to a repository that does not exist: %v, want NAME_UNKNOWN", err)
	}
}
