// The Know Me release pipeline as Dagger Functions: the same containers run from a laptop
// (`dagger call release ...`) and from GitHub Actions. This file only converts arguments and
// results between the module's generated types and the plain client library that the
// recipes in ./pipeline are written against; see docs/pipeline.md.
package main

import (
	"context"
	"os"

	lib "dagger.io/dagger"

	"dagger/km-release/internal/dagger"
	"dagger/km-release/pipeline"
)

// KmRelease tests, builds and releases the Know Me API and web app.
type KmRelease struct {
	// +private
	Source *dagger.Directory
	// +private
	Api *dagger.Directory
	// +private
	ApiPath string
	// +private
	Web *dagger.Directory
	// +private
	WebPath string
	// +private
	GoImage string
	// +private
	NodeImage string
	// +private
	PythonImage string
	// +private
	TerraformImage string
	// +private
	BaseImage string
	// +private
	Region string
	// +private
	StateBucket string
	// +private
	StateKey string
	// +private
	App string
	// +private
	AwsEndpointUrl string
	// +private
	AwsAccessKeyId *dagger.Secret
	// +private
	AwsSecretAccessKey *dagger.Secret
	// +private
	AwsSessionToken *dagger.Secret
	// +private
	TfVar []*dagger.Secret
	// +private
	TfProviderMirror *dagger.Directory
}

func New(
	// This repository: the deploy tool, infra/ and the sample apps.
	// +defaultPath="/"
	// +ignore=[".git", "**/node_modules", "**/.terraform", "bin", "dist", ".rehearsal", "kmdeploy", "examples/web/build", "**/*.tfplan", "**/terraform.tfstate*", "infra/kmdeploy_*_override.tf", "ci/dagger.gen.go", "ci/internal/dagger", "ci/internal/querybuilder", "ci/internal/telemetry"]
	source *dagger.Directory,
	// The API source (a km-api checkout); the sample in examples/api when omitted.
	// +optional
	api *dagger.Directory,
	// The API's path inside --api ("." for a checkout, examples/api for the sample).
	// +optional
	apiPath string,
	// The web source (a km-web checkout); the sample in examples/web when omitted.
	// +optional
	web *dagger.Directory,
	// The web app's path inside --web.
	// +optional
	webPath string,
	// +optional
	// +default="golang:1.26.8-bookworm"
	goImage string,
	// +optional
	// +default="node:20-bookworm-slim"
	nodeImage string,
	// +optional
	// +default="python:3.12-slim-bookworm"
	pythonImage string,
	// +optional
	// +default="hashicorp/terraform:1.11.4"
	terraformImage string,
	// Base of the toolbox image.
	// +optional
	// +default="alpine:3.21"
	baseImage string,
	// AWS region of the environments.
	// +optional
	// +default="us-east-1"
	region string,
	// S3 bucket holding the Terraform state.
	// +optional
	stateBucket string,
	// Key of the state object (kmdeploy's default when empty).
	// +optional
	stateKey string,
	// Application slug (kmdeploy's default when empty).
	// +optional
	app string,
	// Endpoint of an AWS emulation, for rehearsals; empty for AWS.
	// +optional
	awsEndpointUrl string,
	// e.g. env://AWS_ACCESS_KEY_ID
	// +optional
	awsAccessKeyId *dagger.Secret,
	// e.g. env://AWS_SECRET_ACCESS_KEY
	// +optional
	awsSecretAccessKey *dagger.Secret,
	// e.g. env://AWS_SESSION_TOKEN (temporary credentials, as GitHub's OIDC role gives)
	// +optional
	awsSessionToken *dagger.Secret,
	// Secret Terraform variables, each named by its URI: env://TF_VAR_name (repeatable).
	// +optional
	tfVar []*dagger.Secret,
	// A Terraform provider mirror (filesystem layout: registry.terraform.io/hashicorp/aws/<version>/<os_arch>/...)
	// for hashicorp/* providers, where registry.terraform.io cannot be reached.
	// +optional
	tfProviderMirror *dagger.Directory,
) *KmRelease {
	return &KmRelease{
		Source: source, Api: api, ApiPath: apiPath, Web: web, WebPath: webPath,
		GoImage: goImage, NodeImage: nodeImage, PythonImage: pythonImage, TerraformImage: terraformImage, BaseImage: baseImage,
		Region: region, StateBucket: stateBucket, StateKey: stateKey, App: app, AwsEndpointUrl: awsEndpointUrl,
		AwsAccessKeyId: awsAccessKeyId, AwsSecretAccessKey: awsSecretAccessKey, AwsSessionToken: awsSessionToken, TfVar: tfVar,
		TfProviderMirror: tfProviderMirror,
	}
}

// Runs the API's tests (pytest, black, flake8 for km-api; go test for the sample).
// +check
func (m *KmRelease) TestApi(ctx context.Context) (err error) {
	defer explain(&err)
	r, err := m.pipeline(ctx)
	if err != nil {
		return err
	}
	return pipeline.RunCheck(ctx, "test-api", func() (*lib.Container, error) { return pipeline.TestAPI(ctx, r.Client, r.API, r.Images) })
}

// Runs the web app's tests.
// +check
func (m *KmRelease) TestWeb(ctx context.Context) (err error) {
	defer explain(&err)
	r, err := m.pipeline(ctx)
	if err != nil {
		return err
	}
	return pipeline.RunCheck(ctx, "test-web", func() (*lib.Container, error) { return pipeline.TestWeb(ctx, r.Client, r.Web, r.Images) })
}

// Builds the API image from its Dockerfile, with VERSION set to the commit and the base images as build arguments (GO_IMAGE, BASE_IMAGE, ...).
func (m *KmRelease) BuildApi(ctx context.Context, commit string) (_ *dagger.Container, err error) {
	defer explain(&err)
	r, err := m.pipeline(ctx)
	if err != nil {
		return nil, err
	}
	ctr, err := pipeline.BuildAPI(ctx, r.API, commit, r.Images)
	if err != nil {
		return nil, err
	}
	return toContainer(ctx, "build-api", ctr)
}

// Builds the API image and pushes it to the environment's ECR repository; returns repo@sha256:...
// +cache="never"
func (m *KmRelease) PublishApi(
	ctx context.Context,
	env string,
	commit string,
	// Repository URL; the environment's ecr_repository_url output when empty.
	// +optional
	repository string,
) (_ string, err error) {
	defer explain(&err)
	r, err := m.pipeline(ctx)
	if err != nil {
		return "", err
	}
	image, err := pipeline.BuildAPI(ctx, r.API, commit, r.Images)
	if err != nil {
		return "", err
	}
	if image, err = pipeline.SyncContainer(ctx, "build-api", image); err != nil {
		return "", err
	}
	return pipeline.PublishAPI(ctx, r.Client, image, r.Deployer(env), repository, commit)
}

// Builds the web bundle for one environment (its API URL is baked in).
// +cache="never"
func (m *KmRelease) BuildWeb(
	ctx context.Context,
	env string,
	// API URL; the environment's api_url output when empty.
	// +optional
	apiUrl string,
) (_ *dagger.Directory, err error) {
	defer explain(&err)
	r, err := m.pipeline(ctx)
	if err != nil {
		return nil, err
	}
	bundle, err := r.WebBundle(ctx, env, apiUrl)
	if err != nil {
		return nil, err
	}
	return toDirectory(ctx, "build-web", bundle)
}

// The Lambda zips (migration hook, background jobs).
func (m *KmRelease) Lambdas(ctx context.Context) (_ *dagger.Directory, err error) {
	defer explain(&err)
	r, err := m.pipeline(ctx)
	if err != nil {
		return nil, err
	}
	return toDirectory(ctx, "lambdas", pipeline.Lambdas(r.Client, r.Repo, r.Images))
}

// A small image with kmdeploy, terraform and infra/.
func (m *KmRelease) Toolbox(ctx context.Context) (_ *dagger.Container, err error) {
	defer explain(&err)
	r, err := m.pipeline(ctx)
	if err != nil {
		return nil, err
	}
	return toContainer(ctx, "toolbox", pipeline.Toolbox(r.Client, r.Repo, r.Images, r.Toolbox))
}

// Shows what Terraform would change in the environment.
// +cache="never"
func (m *KmRelease) Plan(ctx context.Context, env string) (string, error) {
	return m.withDeployer(ctx, env, pipeline.Deployer.Plan)
}

// Plans and applies the environment's infrastructure.
// +cache="never"
func (m *KmRelease) Apply(ctx context.Context, env string) (string, error) {
	return m.withDeployer(ctx, env, pipeline.Deployer.Apply)
}

// Fails when the environment's live infrastructure has drifted from infra/.
// +cache="never"
func (m *KmRelease) Drift(ctx context.Context, env string) (string, error) {
	return m.withDeployer(ctx, env, pipeline.Deployer.Drift)
}

// Rolls an API image (repo@sha256:...) out to the environment, blue/green.
// +cache="never"
func (m *KmRelease) Deploy(ctx context.Context, env string, image string) (string, error) {
	return m.withDeployer(ctx, env, func(d pipeline.Deployer, ctx context.Context) (string, error) { return d.Deploy(ctx, image) })
}

// Builds the web bundle for the environment (or takes --bundle) and puts it live.
// +cache="never"
func (m *KmRelease) PublishWeb(
	ctx context.Context,
	env string,
	// A bundle built earlier; built for the environment when omitted.
	// +optional
	bundle *dagger.Directory,
) (_ string, err error) {
	defer explain(&err)
	r, err := m.pipeline(ctx)
	if err != nil {
		return "", err
	}
	var b *lib.Directory
	if bundle != nil {
		b, err = fromDirectory(ctx, r.Client, bundle)
	} else if b, err = r.WebBundle(ctx, env, ""); err == nil {
		b, err = pipeline.SyncDirectory(ctx, "build-web", b)
	}
	if err != nil {
		return "", err
	}
	return r.Deployer(env).PublishWeb(ctx, b)
}

// What the environment runs: image, task definition, recent deployments.
// +cache="never"
func (m *KmRelease) Status(ctx context.Context, env string) (string, error) {
	return m.withDeployer(ctx, env, pipeline.Deployer.Status)
}

// Tests, builds one API image, releases it to staging; to production too with --production.
// +cache="never"
func (m *KmRelease) Release(
	ctx context.Context,
	// The commit being released: the image's VERSION and tag.
	commit string,
	// Also release to production.
	// +optional
	production bool,
	// +optional
	// +default="staging"
	stagingEnv string,
	// +optional
	// +default="production"
	productionEnv string,
) (_ string, err error) {
	defer explain(&err)
	r, err := m.pipeline(ctx)
	if err != nil {
		return "", err
	}
	r.Staging, r.Production = stagingEnv, productionEnv
	tl, err := r.Run(ctx, commit, production)
	return tl.String(), err
}

// Ships exactly the image staging runs now to production, with the web app rebuilt for it.
// +cache="never"
func (m *KmRelease) Promote(
	ctx context.Context,
	// +optional
	// +default="staging"
	stagingEnv string,
	// +optional
	// +default="production"
	productionEnv string,
) (_ string, err error) {
	defer explain(&err)
	r, err := m.pipeline(ctx)
	if err != nil {
		return "", err
	}
	r.Staging, r.Production = stagingEnv, productionEnv
	tl, err := r.Promote(ctx)
	return tl.String(), err
}

// gofmt and go vet of the deploy tool's module.
// +check
func (m *KmRelease) Lint(ctx context.Context) (err error) {
	defer explain(&err)
	return m.runCheck(ctx, "lint", pipeline.LintCheck)
}

// The deploy tool's test suite (with moto, terraform and Postgres in the container).
// +check
func (m *KmRelease) Tests(ctx context.Context) (err error) {
	defer explain(&err)
	return m.runCheck(ctx, "tests", pipeline.TestCheck)
}

// This pipeline's own unit tests.
// +check
func (m *KmRelease) PipelineTests(ctx context.Context) (err error) {
	defer explain(&err)
	return m.runCheck(ctx, "pipeline-tests", pipeline.PipelineCheck)
}

func (m *KmRelease) runCheck(ctx context.Context, name string, recipe func(*lib.Client, *lib.Directory, pipeline.Images) *lib.Container) error {
	r, err := m.pipeline(ctx)
	if err != nil {
		return err
	}
	return pipeline.RunCheck(ctx, name, func() (*lib.Container, error) { return recipe(r.Client, r.Repo, r.Images), nil })
}

func (m *KmRelease) withDeployer(ctx context.Context, env string, op func(pipeline.Deployer, context.Context) (string, error)) (_ string, err error) {
	defer explain(&err)
	r, err := m.pipeline(ctx)
	if err != nil {
		return "", err
	}
	return op(r.Deployer(env), ctx)
}

// pipeline converts the module's state into the library's types.
func (m *KmRelease) pipeline(ctx context.Context) (*pipeline.Release, error) {
	// The library client joins this function's session; the process ends with the call, so
	// it is not closed here.
	c, err := lib.Connect(ctx, lib.WithLogOutput(os.Stderr))
	if err != nil {
		return nil, err
	}
	repo, err := fromDirectory(ctx, c, m.Source)
	if err != nil {
		return nil, err
	}
	api, web := repo, repo
	if m.Api != nil {
		if api, err = fromDirectory(ctx, c, m.Api); err != nil {
			return nil, err
		}
	}
	if m.Web != nil {
		if web, err = fromDirectory(ctx, c, m.Web); err != nil {
			return nil, err
		}
	}
	creds := pipeline.Credentials{}
	for _, s := range []struct {
		from *dagger.Secret
		to   **lib.Secret
	}{{m.AwsAccessKeyId, &creds.AccessKeyID}, {m.AwsSecretAccessKey, &creds.SecretAccessKey}, {m.AwsSessionToken, &creds.SessionToken}} {
		if s.from != nil {
			if *s.to, err = fromSecret(ctx, c, s.from); err != nil {
				return nil, err
			}
		}
	}
	var toolbox pipeline.ToolboxOpts
	if m.TfProviderMirror != nil {
		if toolbox.ProviderMirror, err = fromDirectory(ctx, c, m.TfProviderMirror); err != nil {
			return nil, err
		}
	}
	for _, s := range m.TfVar {
		ls, err := fromSecret(ctx, c, s)
		if err != nil {
			return nil, err
		}
		creds.TFVars = append(creds.TFVars, ls)
	}
	return &pipeline.Release{
		Client: c,
		Repo:   repo,
		API:    pipeline.Source{Dir: api, Path: pipeline.SourcePath(m.Api != nil, m.ApiPath, pipeline.SampleAPIPath)},
		Web:    pipeline.Source{Dir: web, Path: pipeline.SourcePath(m.Web != nil, m.WebPath, pipeline.SampleWebPath)},
		Images: pipeline.Images{
			Go: m.GoImage, Node: m.NodeImage, Python: m.PythonImage, Terraform: m.TerraformImage, Base: m.BaseImage,
		}.WithDefaults(),
		Env: pipeline.Environment{
			Region: m.Region, StateBucket: m.StateBucket, StateKey: m.StateKey, App: m.App, EndpointURL: m.AwsEndpointUrl,
		},
		Creds:      creds,
		Toolbox:    toolbox,
		Staging:    "staging",
		Production: "production",
		Log:        os.Stderr,
	}, nil
}

func fromDirectory(ctx context.Context, c *lib.Client, d *dagger.Directory) (*lib.Directory, error) {
	id, err := d.ID(ctx)
	if err != nil {
		return nil, err
	}
	return c.LoadDirectoryFromID(lib.DirectoryID(id)), nil
}

func fromSecret(ctx context.Context, c *lib.Client, s *dagger.Secret) (*lib.Secret, error) {
	id, err := s.ID(ctx)
	if err != nil {
		return nil, err
	}
	return c.LoadSecretFromID(lib.SecretID(id)), nil
}

// toContainer builds ctr (see pipeline.SyncContainer) and hands it to the caller.
func toContainer(ctx context.Context, step string, ctr *lib.Container) (*dagger.Container, error) {
	ctr, err := pipeline.SyncContainer(ctx, step, ctr)
	if err != nil {
		return nil, err
	}
	id, err := ctr.ID(ctx)
	if err != nil {
		return nil, err
	}
	return dag.LoadContainerFromID(dagger.ContainerID(id)), nil
}

// toDirectory builds d and hands it to the caller.
func toDirectory(ctx context.Context, step string, d *lib.Directory) (*dagger.Directory, error) {
	d, err := pipeline.SyncDirectory(ctx, step, d)
	if err != nil {
		return nil, err
	}
	id, err := d.ID(ctx)
	if err != nil {
		return nil, err
	}
	return dag.LoadDirectoryFromID(dagger.DirectoryID(id)), nil
}

// explain rewrites a function's error for the caller, at the end of every function: see
// pipeline.ForModule.
func explain(err *error) { *err = pipeline.ForModule(*err) }
