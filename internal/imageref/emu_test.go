package imageref_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/google/go-containerregistry/pkg/v1/random"

	"github.com/knowmetools/km-release/internal/imageref"
	"github.com/knowmetools/km-release/testrig/awsemu/emutest"
	"github.com/knowmetools/km-release/testrig/ociimage"
)

func TestMain(m *testing.M) { emutest.Main(m) }

// The resolver reads the registry with the caller's ECR credentials: a role that may
// not get a token, or may not read the repository, gets an error that says so rather
// than an anonymous look that hides the missing grant.
func TestResolverUsesTheCallersRegistryAccess(t *testing.T) {
	emu := emutest.Start(t)
	ctx := t.Context()
	name := emutest.UniqueName(t)
	admin := emu.AWSConfig()
	repo, err := ecr.NewFromConfig(admin).CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	img, err := random.Image(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	pushed, err := ociimage.Push(ctx, img, aws.ToString(repo.Repository.RepositoryUri), "v1", true, nil)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := imageref.Parse(pushed)
	if err != nil {
		t.Fatal(err)
	}
	repoARN := aws.ToString(repo.Repository.RepositoryArn)
	resolverFor := func(role string, statements ...string) imageref.Resolver {
		t.Helper()
		client := iam.NewFromConfig(admin)
		out, err := client.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(name + "-" + role),
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
	token := `{"Effect":"Allow","Action":"ecr:GetAuthorizationToken","Resource":"*"}`
	read := fmt.Sprintf(`{"Effect":"Allow","Action":"ecr:BatchGetImage","Resource":%q}`, repoARN)

	if err := resolverFor("reader", token, read).Check(ctx, ref); err != nil {
		t.Errorf("a role with a token and ecr:BatchGetImage: %v", err)
	}
	err = resolverFor("notoken", read).Check(ctx, ref)
	if err == nil || !strings.Contains(err.Error(), "ecr:GetAuthorizationToken") {
		t.Errorf("a role without ecr:GetAuthorizationToken: error %v, want the denial", err)
	}
	err = resolverFor("noread", token).Check(ctx, ref)
	if err == nil || errors.Is(err, imageref.ErrImageNotFound) || !strings.Contains(err.Error(), "ecr:BatchGetImage") {
		t.Errorf("a role without ecr:BatchGetImage: error %v, want the denial (not 'image not found')", err)
	}
}
