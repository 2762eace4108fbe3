package pipeline

// Cache volumes, by name. The engine keeps one volume per name and caller: the module's
// functions share theirs, whichever function or check runs, while a plain client (such as
// `go test`) gets its own. That is why the engine tests call the module's functions rather
// than these recipes where a cache matters (engine_test.go), so that the first `dagger call`
// finds what `make test-dagger` built.
//
// Volumes are shared only between containers that use them the same way: same user, same
// tool, caches that are safe for concurrent use (Go's, npm's, yarn's, pip's, Terraform's
// plugin cache when the same provider is not being installed twice at once).
const (
	// Go module and build caches of root builds in the Go image: kmdeploy, the Lambdas,
	// lint, this module's own tests. (A Dockerfile's cache mounts are volumes of their own,
	// named after their target: examples/api/Dockerfile's.)
	cacheGoMod   = "km-release-gomod"
	cacheGoBuild = "km-release-gobuild"
	// The same for Go tests run as testUser (Postgres refuses root).
	cacheTesterGoMod   = "km-release-tester-gomod"
	cacheTesterGoBuild = "km-release-tester-gobuild"
	cachePip           = "km-release-pip"
	cacheNpm           = "km-release-npm"
	cacheYarn          = "km-release-yarn"
	cacheTFPlugins     = "km-release-tf-plugins"
)
