package pipeline

import (
	"context"
	"fmt"
	"net/url"

	"dagger.io/dagger"
)

// APIURLVariable is the build-time variable that carries the API URL into the bundle
// (km-web is a create-react-app; the sample reads the same name).
const APIURLVariable = "REACT_APP_API_ROOT"

// DetectWeb inspects the web source and returns how to test and build it.
func (s Source) DetectWeb(ctx context.Context) (WebPlan, error) {
	app := s.Dir.Directory(cleanPath(s.Path))
	entries, err := app.Entries(ctx)
	if err != nil {
		return WebPlan{}, fmt.Errorf("listing the web source at %q: %w (check --web-path)", s.Path, err)
	}
	hasTest := false
	for _, e := range entries {
		if e == "package.json" {
			pkg, err := app.File("package.json").Contents(ctx)
			if err != nil {
				return WebPlan{}, fmt.Errorf("reading package.json: %w", err)
			}
			if hasTest, err = HasTestScript([]byte(pkg)); err != nil {
				return WebPlan{}, err
			}
		}
	}
	return DetectWeb(s.Path, entries, hasTest)
}

// webInstalled is the web app with its locked dependencies installed.
func webInstalled(c *dagger.Client, src Source, plan WebPlan, img Images) *dagger.Container {
	return c.Container().From(img.Node).
		WithMountedCache("/root/.npm", c.CacheVolume(cacheNpm)).
		WithMountedCache("/usr/local/share/.cache/yarn", c.CacheVolume(cacheYarn)).
		WithDirectory("/app", src.Dir.Directory(plan.Path), dagger.ContainerWithDirectoryOpts{
			Exclude: []string{"node_modules", plan.Output},
		}).
		WithWorkdir("/app").
		WithEnvVariable("CI", "true").
		WithExec(plan.Install)
}

// TestWeb is the web app's tests as a lazy container.
func TestWeb(ctx context.Context, c *dagger.Client, src Source, img Images) (*dagger.Container, error) {
	plan, err := src.DetectWeb(ctx)
	if err != nil {
		return nil, err
	}
	if plan.Test == nil {
		return nil, fmt.Errorf("the web app at %q defines no test script in package.json", plan.Path)
	}
	return webInstalled(c, src, plan, img).WithExec(plan.Test), nil
}

// BuildWeb builds the bundle for one environment: the API URL is baked in at build time, so
// each environment gets its own bundle.
func BuildWeb(ctx context.Context, c *dagger.Client, src Source, img Images, apiURL string) (*dagger.Directory, error) {
	if err := ValidateAPIURL(apiURL); err != nil {
		return nil, err
	}
	plan, err := src.DetectWeb(ctx)
	if err != nil {
		return nil, err
	}
	return webInstalled(c, src, plan, img).
		WithEnvVariable(APIURLVariable, apiURL).
		WithExec(plan.Build).
		Directory(plan.Output), nil
}

// ValidateAPIURL accepts an absolute http(s) URL without query or fragment.
func ValidateAPIURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return &ConfigError{Problems: []string{fmt.Sprintf("API URL %q: want an absolute URL like https://api.example.com (from the environment's api_url output, or --api-url)", s)}}
	}
	return nil
}
