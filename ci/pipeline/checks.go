package pipeline

import (
	"dagger.io/dagger"
)

// The repository's own checks, run in containers so `dagger check` gives the same result on
// a laptop and in CI.

// LintCheck runs gofmt and go vet on the deploy tool's module: all of it, test rig included
// (ci/ is a module of its own, checked by PipelineCheck).
func LintCheck(c *dagger.Client, repo *dagger.Directory, img Images) *dagger.Container {
	return goBuilder(c, repo, img, dagger.ContainerWithDirectoryOpts{Exclude: []string{"ci", "**/node_modules"}}).
		WithExec([]string{"sh", "-c", `out=$(gofmt -l .); if [ -n "$out" ]; then echo "gofmt needed:"; echo "$out"; exit 1; fi`}).
		WithExec([]string{"go", "vet", "./..."})
}

// PipelineCheck runs this module's own unit tests (no engine needed).
func PipelineCheck(c *dagger.Client, repo *dagger.Directory, img Images) *dagger.Container {
	return c.Container().From(img.Go).
		WithMountedCache("/go/pkg/mod", c.CacheVolume(cacheGoMod)).
		WithMountedCache("/root/.cache/go-build", c.CacheVolume(cacheGoBuild)).
		WithDirectory("/src/ci", repo.Directory("ci"), dagger.ContainerWithDirectoryOpts{
			Exclude: []string{"dagger.gen.go", "internal/dagger", "internal/querybuilder", "internal/telemetry"},
		}).
		WithWorkdir("/src/ci").
		WithExec([]string{"go", "vet", "./pipeline/...", "./modcheck/..."}).
		WithExec([]string{"go", "test", "-count=1", "./pipeline/...", "./modcheck/..."})
}

// TestCheck runs the deploy tool's whole test suite with what it needs beside Go: moto (the
// local AWS emulation's base), terraform and the Postgres server binaries.
func TestCheck(c *dagger.Client, repo *dagger.Directory, img Images) *dagger.Container {
	terraform := c.Container().From(img.Terraform).File("/bin/terraform")
	node := c.Container().From(img.Node)
	return c.Container().From(img.Go).
		WithExec([]string{"sh", "-c", "apt-get update -qq && apt-get install -y -qq --no-install-recommends postgresql python3-pip python3-venv >/dev/null && ln -sf /usr/lib/postgresql/*/bin/* /usr/local/bin/"}).
		WithExec([]string{"sh", "-c", "python3 -m venv /opt/moto && /opt/moto/bin/pip install --quiet 'moto[server]==5.2.1'"}).
		WithEnvVariable("PATH", "/opt/moto/bin:/usr/local/go/bin:/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin").
		WithFile("/usr/local/bin/terraform", terraform).
		WithFile("/usr/local/bin/node", node.File("/usr/local/bin/node")).
		WithDirectory("/usr/local/lib/node_modules/npm", node.Directory("/usr/local/lib/node_modules/npm")).
		WithExec([]string{"ln", "-sf", "/usr/local/lib/node_modules/npm/bin/npm-cli.js", "/usr/local/bin/npm"}).
		WithExec([]string{"useradd", "--create-home", testUser}).
		WithMountedCache("/home/"+testUser+"/go/pkg/mod", c.CacheVolume(cacheTesterGoMod), dagger.ContainerWithMountedCacheOpts{Owner: testUser}).
		WithMountedCache("/home/"+testUser+"/.cache/go-build", c.CacheVolume(cacheTesterGoBuild), dagger.ContainerWithMountedCacheOpts{Owner: testUser}).
		WithEnvVariable("HOME", "/home/"+testUser).
		WithEnvVariable("GOMODCACHE", "/home/"+testUser+"/go/pkg/mod").
		WithEnvVariable("GOCACHE", "/home/"+testUser+"/.cache/go-build").
		WithDirectory("/src", repo, dagger.ContainerWithDirectoryOpts{Owner: testUser, Exclude: []string{"ci", ".git", "**/node_modules"}}).
		WithWorkdir("/src").
		WithUser(testUser).
		WithExec([]string{"go", "test", "-count=1", "-timeout", "45m", "./..."})
}
