package pipeline

import (
	"context"
	"fmt"

	"dagger.io/dagger"
)

// Source is an app's source: a directory and the app's path inside it.
type Source struct {
	Dir  *dagger.Directory
	Path string
}

// DetectAPI inspects the API source and returns how to test and build it.
func (s Source) DetectAPI(ctx context.Context) (APIPlan, error) {
	root, err := s.Dir.Entries(ctx)
	if err != nil {
		return APIPlan{}, fmt.Errorf("listing the API source: %w", err)
	}
	app, err := s.Dir.Directory(cleanPath(s.Path)).Entries(ctx)
	if err != nil {
		return APIPlan{}, fmt.Errorf("listing the API source at %q: %w (check --api-path)", s.Path, err)
	}
	return DetectAPI(s.Path, root, app)
}

// TestAPI is the API's tests as a lazy container: syncing it runs them.
func TestAPI(ctx context.Context, c *dagger.Client, src Source, img Images) (*dagger.Container, error) {
	plan, err := src.DetectAPI(ctx)
	if err != nil {
		return nil, err
	}
	var ctr *dagger.Container
	switch plan.Kind {
	case APIPython:
		ctr = c.Container().From(img.Python).
			WithMountedCache("/root/.cache/pip", c.CacheVolume(cachePip)).
			WithDirectory("/src", src.Dir).
			WithWorkdir("/src/"+plan.Path).
			// km-api's test settings: SQLite and in-memory files, no services needed.
			WithEnvVariable("DJANGO_SECRET_KEY", "test").
			WithEnvVariable("DJANGO_IN_MEMORY_FILES", "True")
	case APIGo:
		ctr = goTester(c, img).
			WithDirectory("/src", src.Dir, dagger.ContainerWithDirectoryOpts{Owner: testUser, Exclude: []string{"**/node_modules", ".git"}}).
			WithWorkdir("/src")
	}
	for _, cmd := range plan.TestCommands() {
		ctr = ctr.WithExec(cmd)
	}
	return ctr, nil
}

// BuildAPI builds the API image from the source's Dockerfile, with the commit baked in as
// the VERSION build argument and the base images as build arguments (APIBuildArgs).
func BuildAPI(ctx context.Context, src Source, commit string, img Images) (*dagger.Container, error) {
	if err := ValidateCommit(commit); err != nil {
		return nil, err
	}
	plan, err := src.DetectAPI(ctx)
	if err != nil {
		return nil, err
	}
	return src.Dir.DockerBuild(dagger.DirectoryDockerBuildOpts{
		Dockerfile: plan.Dockerfile,
		BuildArgs:  APIBuildArgs(commit, img),
	}), nil
}

// APIBuildArgs are the API image's build arguments: VERSION (the commit) and the pipeline's
// base images under the names a Dockerfile declares before its FROM lines (`ARG GO_IMAGE`,
// `FROM ${GO_IMAGE}`), so that one mirror setting (--go-image, --base-image, ...) serves the
// Dockerfile too. A Dockerfile ignores the arguments it does not declare.
func APIBuildArgs(commit string, img Images) []dagger.BuildArg {
	return []dagger.BuildArg{
		{Name: "VERSION", Value: commit},
		{Name: "GO_IMAGE", Value: img.Go},
		{Name: "PYTHON_IMAGE", Value: img.Python},
		{Name: "NODE_IMAGE", Value: img.Node},
		{Name: "BASE_IMAGE", Value: img.Base},
	}
}

// PublishAPI pushes image to the environment's ECR repository (repository, or the
// environment's ecr_repository_url output when empty), tagged with the commit, and returns
// the reference pinned by digest: the only form the rollout accepts.
func PublishAPI(ctx context.Context, c *dagger.Client, image *dagger.Container, d Deployer, repository, commit string) (string, error) {
	if err := ValidateCommit(commit); err != nil {
		return "", err
	}
	if repository == "" {
		var err error
		if repository, err = d.Output(ctx, OutputECRRepository); err != nil {
			return "", err
		}
	}
	repo, err := ParseImageRef(repository)
	if err != nil || repo.Tag != "" || repo.Digest != "" {
		return "", &ConfigError{Problems: []string{fmt.Sprintf("--repository %q: want a repository URL without tag or digest, like 123456789012.dkr.ecr.eu-west-1.amazonaws.com/knowme-api", repository)}}
	}
	password, err := d.RegistryPassword(ctx, c)
	if err != nil {
		return "", err
	}
	published, err := image.
		WithRegistryAuth(repo.Registry(), "AWS", password).
		Publish(ctx, repo.Repository+":"+commit)
	if err != nil {
		return "", stepError("publish-api", err)
	}
	ref, err := ParseImageRef(published)
	if err != nil {
		return "", fmt.Errorf("the engine returned an unexpected reference %q: %w", published, err)
	}
	return ref.ByDigest()
}

// ValidateCommit checks the commit given as the image's VERSION and tag.
func ValidateCommit(commit string) error {
	if commit == "" || !tagRE.MatchString(commit) {
		return &ConfigError{Problems: []string{fmt.Sprintf("--commit %q: want the commit being released, e.g. --commit $(git rev-parse HEAD)", commit)}}
	}
	return nil
}

// testUser runs Go tests: initdb (the sample API's tests start a real Postgres) refuses root.
const testUser = "tester"

// goTester is a Go container with the Postgres server binaries on PATH, run as a normal user.
func goTester(c *dagger.Client, img Images) *dagger.Container {
	home := "/home/" + testUser
	return c.Container().From(img.Go).
		WithExec([]string{"sh", "-c", "apt-get update -qq && apt-get install -y -qq --no-install-recommends postgresql >/dev/null && ln -sf /usr/lib/postgresql/*/bin/* /usr/local/bin/"}).
		WithExec([]string{"useradd", "--create-home", testUser}).
		WithMountedCache(home+"/go/pkg/mod", c.CacheVolume(cacheTesterGoMod), dagger.ContainerWithMountedCacheOpts{Owner: testUser}).
		WithMountedCache(home+"/.cache/go-build", c.CacheVolume(cacheTesterGoBuild), dagger.ContainerWithMountedCacheOpts{Owner: testUser}).
		WithEnvVariable("GOMODCACHE", home+"/go/pkg/mod").
		WithEnvVariable("GOCACHE", home+"/.cache/go-build").
		WithEnvVariable("HOME", home).
		WithUser(testUser)
}
