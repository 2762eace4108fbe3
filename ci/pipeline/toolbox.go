package pipeline

import (
	"fmt"

	"dagger.io/dagger"
)

// What of the repository the deploy tool's build needs (the Go module's product packages:
// the test rig in testrig/ is for tests only, and a change there need not rebuild kmdeploy).
var goModuleFiles = []string{"go.mod", "go.sum", "cmd/**", "internal/**", "lambdas/**", "examples/**"}

// Paths of the toolbox image.
const (
	toolboxWorkdir = "/toolbox"
	toolboxInfra   = "/toolbox/infra"
)

// goBuilder is a Go container with the repository's module (the files opts selects) and
// shared caches.
func goBuilder(c *dagger.Client, repo *dagger.Directory, img Images, opts dagger.ContainerWithDirectoryOpts) *dagger.Container {
	return c.Container().From(img.Go).
		WithMountedCache("/go/pkg/mod", c.CacheVolume(cacheGoMod)).
		WithMountedCache("/root/.cache/go-build", c.CacheVolume(cacheGoBuild)).
		WithEnvVariable("CGO_ENABLED", "0").
		WithDirectory("/src", repo, opts).
		WithWorkdir("/src")
}

// Kmdeploy builds the deploy tool from the repository source: a static binary.
func Kmdeploy(c *dagger.Client, repo *dagger.Directory, img Images) *dagger.File {
	return goBuilder(c, repo, img, dagger.ContainerWithDirectoryOpts{Include: goModuleFiles}).
		WithExec([]string{"go", "build", "-trimpath", "-ldflags", "-s -w", "-o", "/out/kmdeploy", "./cmd/kmdeploy"}).
		File("/out/kmdeploy")
}

// Paths of Terraform's own settings in the toolbox.
const (
	tfCLIConfig   = "/toolbox/terraform.tfrc"
	tfPluginCache = "/var/cache/terraform-plugins"
	tfMirrorDir   = "/toolbox/terraform-providers"
)

// ToolboxOpts are the toolbox's optional inputs.
type ToolboxOpts struct {
	// ProviderMirror is a Terraform provider mirror in the filesystem-mirror layout
	// (registry.terraform.io/hashicorp/aws/5.100.0/linux_amd64/...). hashicorp/* providers
	// then come from it, for runners that cannot reach registry.terraform.io.
	ProviderMirror *dagger.Directory
}

// Toolbox is a small image with kmdeploy, the terraform binary (from the pinned Terraform
// image), the repository's infra/ configuration, where kmdeploy finds it, and the Lambda
// zips beside it where infra/ expects them (dist/lambdas at the repository root).
func Toolbox(c *dagger.Client, repo *dagger.Directory, img Images, opts ToolboxOpts) *dagger.Container {
	terraform := c.Container().From(img.Terraform).File("/bin/terraform")
	ctr := c.Container().From(img.Base).
		WithFile("/usr/local/bin/terraform", terraform).
		WithFile("/usr/local/bin/kmdeploy", Kmdeploy(c, repo, img)).
		WithDirectory(toolboxInfra, repo.Directory("infra"), dagger.ContainerWithDirectoryOpts{
			Exclude: []string{".terraform/**", "*.tfstate*", "*.tfplan"},
		}).
		WithDirectory(toolboxWorkdir+"/dist/lambdas", Lambdas(c, repo, img)).
		WithWorkdir(toolboxWorkdir).
		WithEnvVariable("KM_TF_DIR", toolboxInfra).
		// Providers are installed once per engine, not once per call (TerraformCLIConfig).
		WithMountedCache(tfPluginCache, c.CacheVolume(cacheTFPlugins)).
		WithNewFile(tfCLIConfig, TerraformCLIConfig(opts.ProviderMirror != nil)).
		WithEnvVariable("TF_CLI_CONFIG_FILE", tfCLIConfig)
	if opts.ProviderMirror != nil {
		// Mounted, not copied: a provider is hundreds of megabytes, and the image need not carry it.
		ctr = ctr.WithMountedDirectory(tfMirrorDir, opts.ProviderMirror)
	}
	return ctr.WithEntrypoint([]string{"kmdeploy"}).
		WithDefaultArgs([]string{"--help"})
}

// mirroredProviders are the providers a --tf-provider-mirror serves; the others still come
// from their registries.
const mirroredProviders = "registry.terraform.io/hashicorp/*"

// TerraformCLIConfig is the toolbox's Terraform CLI configuration (TF_CLI_CONFIG_FILE).
//
// Providers go to a cache volume. Terraform (>= 1.4) takes a provider from the cache only
// when the configuration's lock file already records its checksum; infra/ commits none, and
// the lock file the toolbox writes is gone after each call, so without
// plugin_cache_may_break_dependency_lock_file every call would install every provider
// again. Breaking is harmless here: that lock file never leaves the container.
//
// With a mirror, hashicorp/* providers are installed from it and the rest directly. No
// version check calls home (checkpoint-api.hashicorp.com): offline, it only fails.
func TerraformCLIConfig(withMirror bool) string {
	s := fmt.Sprintf("# Written by the release pipeline (ci/pipeline/toolbox.go).\n"+
		"plugin_cache_dir = %q\nplugin_cache_may_break_dependency_lock_file = true\ndisable_checkpoint = true\n", tfPluginCache)
	if withMirror {
		s += fmt.Sprintf(`provider_installation {
  filesystem_mirror {
    path    = %q
    include = [%q]
  }
  direct {
    exclude = [%q]
  }
}
`, tfMirrorDir, mirroredProviders, mirroredProviders)
	}
	return s
}

// Lambdas builds the Lambda zips with the repository's own packager.
func Lambdas(c *dagger.Client, repo *dagger.Directory, img Images) *dagger.Directory {
	return goBuilder(c, repo, img, dagger.ContainerWithDirectoryOpts{Include: goModuleFiles}).
		WithExec([]string{"go", "run", "./internal/tools/lambdazip", "-out", "/out/lambdas"}).
		Directory("/out/lambdas")
}
