package imageref_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/google/go-containerregistry/pkg/v1/random"

	"github.com/knowmetools/km-release/internal/imageref"
	"github.com/knowmetools/km-release/testrig/awsemu"
	"github.com/knowmetools/km-release/testrig/awsemu/emutest"
	"github.com/knowmetools/km-release/testrig/ociimage"
)

func TestMain(m *testing.M) { emutest.Main(m) }

// createRepo creates an ECR repository as the account's administrator.
func createRepo(t *testing.T, emu *awsemu.Emulator, name string) *ecrtypes.Repository {
	t.Helper()
	repo, err := ecr.NewFromConfig(emu.AWSConfig()).CreateRepository(t.Context(), &ecr.CreateRepositoryInput{RepositoryName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	return repo.Repository
}

// pushRandom pushes a small random image to repo and returns it pinned by digest.
func pushRandom(t *testing.T, repo *ecrtypes.Repository) imageref.Ref {
	t.Helper()
	img, err := random.Image(256, 2)
	if err != nil {
		t.Fatal(err)
	}
	pushed, err := ociimage.Push(t.Context(), img, aws.ToString(repo.RepositoryUri), "v1", true, nil)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := imageref.Parse(pushed)
	if err != nil {
		t.Fatal(err)
	}
	return ref
}

// roleResolver is a Resolver under a new role allowed statements (IAM policy JSON).
func roleResolver(t *testing.T, emu *awsemu.Emulator, role string, statements ...string) imageref.Resolver {
	t.Helper()
	ctx := t.Context()
	client := iam.NewFromConfig(emu.AWSConfig())
	out, err := client.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(emutest.UniqueName(t) + "-" + role),
		AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}`)})
	if err != nil {
		t.Fatal(err)
	}
	policy := `{"Version":"2012-10-17","Statement":[` + strings.Join(statements, ",") + `]}`
	if _, err := client.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: out.Role.RoleName, PolicyName: aws.String("p"), PolicyDocument: aws.String(policy)}); err != nil {
		t.Fatal(err)
	}
	creds, err := emu.AssumeRoleAs(ctx, "ecs-tasks.amazonaws.com", aws.ToString(out.Role.Arn), nil)
	if err != nil {
		t.Fatal(err)
	}
	return imageref.Resolver{ECR: ecr.NewFromConfig(emu.ConfigFor(creds))}
}

func allow(resource string, actions ...string) string {
	return fmt.Sprintf(`{"Effect":"Allow","Action":["%s"],"Resource":%q}`, strings.Join(actions, `","`), resource)
}

const token = `{"Effect":"Allow","Action":"ecr:GetAuthorizationToken","Resource":"*"}`

// The resolver reads the registry with the caller's ECR credentials: a role that may
// not get a token, or may not read the repository, gets an error that says so rather
// than an anonymous look that hides the missing grant.
func TestResolverUsesTheCallersRegistryAccess(t *testing.T) {
	emu := emutest.Start(t)
	ctx := t.Context()
	repo := createRepo(t, emu, emutest.UniqueName(t))
	ref := pushRandom(t, repo)
	read := allow(aws.ToString(repo.RepositoryArn), "ecr:BatchGetImage")

	if err := roleResolver(t, emu, "reader", token, read).Check(ctx, ref); err != nil {
		t.Errorf("a role with a token and ecr:BatchGetImage: %v", err)
	}
	err := roleResolver(t, emu, "notoken", read).Check(ctx, ref)
	if err == nil || !strings.Contains(err.Error(), "ecr:GetAuthorizationToken") {
		t.Errorf("a role without ecr:GetAuthorizationToken: error %v, want the denial", err)
	}
	err = roleResolver(t, emu, "noread", token).Check(ctx, ref)
	if err == nil || errors.Is(err, imageref.ErrImageNotFound) || !strings.Contains(err.Error(), "ecr:BatchGetImage") {
		t.Errorf("a role without ecr:BatchGetImage: error %v, want the denial (not 'image not found')", err)
	}
}

// A promotion copies staging's image into production's repository under the same
// digest, with the grants infra/ gives the CI role: read on the source (EcrPromoteSource),
// push on its own repository. Without the read grant it fails saying which grant.
func TestCopyKeepsTheDigestAcrossRepositories(t *testing.T) {
	emu := emutest.Start(t)
	ctx := t.Context()
	name := emutest.UniqueName(t)
	staging, production := createRepo(t, emu, name+"-staging"), createRepo(t, emu, name+"-production")
	src := pushRandom(t, staging)
	digest := src.String()[strings.LastIndexByte(src.String(), '@')+1:]
	readSource := allow(aws.ToString(staging.RepositoryArn), "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability")
	push := allow(aws.ToString(production.RepositoryArn), "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability",
		"ecr:PutImage", "ecr:InitiateLayerUpload", "ecr:UploadLayerPart", "ecr:CompleteLayerUpload")

	ci := roleResolver(t, emu, "ci", token, readSource, push)
	dst, err := ci.Copy(ctx, src, aws.ToString(production.RepositoryUri))
	if err != nil {
		t.Fatal(err)
	}
	if want := aws.ToString(production.RepositoryUri) + "@" + digest; dst.String() != want {
		t.Fatalf("copy = %s, want %s", dst, want)
	}
	// ECR itself knows the copy, tagged so that the untagged-image rule leaves it alone.
	out, err := ecr.NewFromConfig(emu.AWSConfig()).DescribeImages(ctx, &ecr.DescribeImagesInput{
		RepositoryName: production.RepositoryName, ImageIds: []ecrtypes.ImageIdentifier{{ImageDigest: aws.String(digest)}}})
	if err != nil {
		t.Fatalf("DescribeImages of the copy: %v", err)
	}
	if len(out.ImageDetails) != 1 || !strings.Contains(strings.Join(out.ImageDetails[0].ImageTags, ","), imageref.CopyTag(digest)) {
		t.Errorf("ECR records the copy as %+v, want digest %s tagged %s", out.ImageDetails, digest, imageref.CopyTag(digest))
	}
	if err := ci.Check(ctx, dst); err != nil {
		t.Errorf("the copy: %v", err)
	}
	// Again: nothing to do, same answer.
	if again, err := ci.Copy(ctx, src, aws.ToString(production.RepositoryUri)); err != nil || again.String() != dst.String() {
		t.Errorf("second copy = %v, %v; want %s", again, err, dst)
	}

	other := pushRandom(t, createRepo(t, emu, name+"-other"))
	_, err = ci.Copy(ctx, other, aws.ToString(production.RepositoryUri))
	if err == nil || !strings.Contains(err.Error(), "read the source image") || !strings.Contains(err.Error(), "ecr:BatchGetImage") {
		t.Errorf("copy from a repository the role may not read: error %v, want the missing grant named", err)
	}
	tagged, _ := imageref.Parse(aws.ToString(staging.RepositoryUri) + ":v1")
	if _, err := ci.Copy(ctx, tagged, aws.ToString(production.RepositoryUri)); !errors.Is(err, imageref.ErrNotPinned) {
		t.Errorf("copy of a tag: error %v, want ErrNotPinned", err)
	}
}
