package pipeline

import (
	"dagger.io/dagger"
)

// What of the repository the deploy tool's build needs (the Go module and its packages).
var goModuleFiles = []string{"go.mod", "go.sum", "cmd/**", "internal/**", "lambdas/**", "examples/**"}

// Paths of the toolbox image.
const (
	toolboxWorkdir = "/toolbox"
	toolboxInfra   = "/toolbox/infra"
)

// goBuilder is a Go container with the repository's module and shared caches.
func goBuilder(c *dagger.Client, repo *dagger.Directory, img Images) *dagger.Container {
	return c.Container().From(img.Go).
		WithMountedCache("/go/pkg/mod", c.CacheVolume("km-release-gomod")).
		WithMountedCache("/root/.cache/go-build", c.CacheVolume("km-release-gobuild")).
		WithEnvVariable("CGO_ENABLED", "0").
		WithDirectory("/src", repo, dagger.ContainerWithDirectoryOpts{Include: goModuleFiles}).
		WithWorkdir("/src")
}

// Kmdeploy builds the deploy tool from the repository source: a static binary.
func Kmdeploy(c *dagger.Client, repo *dagger.Directory, img Images) *dagger.File {
	return goBuilder(c, repo, img).
		WithExec([]string{"go", "build", "-trimpath", "-ldflags", "-s -w", "-o", "/out/kmdeploy", "./cmd/kmdeploy"}).
		File("/out/kmdeploy")
}

// Toolbox is a small image with kmdeploy, the terraform binary (from the pinned Terraform
// image), the repository's infra/ configuration, where kmdeploy finds it, and the Lambda
// zips beside it where infra/ expects them (dist/lambdas at the repository root).
func Toolbox(c *dagger.Client, repo *dagger.Directory, img Images) *dagger.Container {
	terraform := c.Container().From(img.Terraform).File("/bin/terraform")
	return c.Container().From(img.Base).
		WithFile("/usr/local/bin/terraform", terraform).
		WithFile("/usr/local/bin/kmdeploy", Kmdeploy(c, repo, img)).
		WithDirectory(toolboxInfra, repo.Directory("infra"), dagger.ContainerWithDirectoryOpts{
			Exclude: []string{".terraform/**", "*.tfstate*", "*.tfplan"},
		}).
		WithDirectory(toolboxWorkdir+"/dist/lambdas", Lambdas(c, repo, img)).
		WithWorkdir(toolboxWorkdir).
		WithEnvVariable("KM_TF_DIR", toolboxInfra).
		// Providers are downloaded once per engine, not once per call.
		WithMountedCache("/var/cache/terraform-plugins", c.CacheVolume("km-release-tf-plugins")).
		WithEnvVariable("TF_PLUGIN_CACHE_DIR", "/var/cache/terraform-plugins").
		WithEntrypoint([]string{"kmdeploy"}).
		WithDefaultArgs([]string{"--help"})
}

// Lambdas builds the Lambda zips with the repository's own packager.
func Lambdas(c *dagger.Client, repo *dagger.Directory, img Images) *dagger.Directory {
	return goBuilder(c, repo, img).
		WithExec([]string{"go", "run", "./internal/tools/lambdazip", "-out", "/out/lambdas"}).
		Directory("/out/lambdas")
}
