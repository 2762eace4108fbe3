package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"dagger.io/dagger"
)

// Release holds what a release or a promotion works with.
type Release struct {
	Client *dagger.Client
	Repo   *dagger.Directory
	API    Source
	Web    Source
	Images Images
	// Env is the base environment settings; its Name is replaced by Staging or Production.
	Env        Environment
	Creds      Credentials
	Toolbox    ToolboxOpts
	Staging    string // environment names
	Production string
	Log        io.Writer
}

// Deployer is the toolbox for one environment.
func (r Release) Deployer(name string) Deployer {
	return Deployer{Toolbox: Toolbox(r.Client, r.Repo, r.Images, r.Toolbox), Env: r.Env.For(name), Creds: r.Creds}
}

// validate checks everything that can be checked before any work starts.
func (r Release) validate(commit string, needCommit bool) error {
	var problems []string
	collect := func(err error) {
		var ce *ConfigError
		if errors.As(err, &ce) {
			problems = append(problems, ce.Problems...)
		} else if err != nil {
			problems = append(problems, err.Error())
		}
	}
	for _, name := range []string{r.Staging, r.Production} {
		collect(r.Env.For(name).Validate())
	}
	if r.Staging == r.Production {
		problems = append(problems, fmt.Sprintf("--staging and --production are both %q", r.Staging))
	}
	collect(CheckCredentials(r.Creds.AccessKeyID != nil, r.Creds.SecretAccessKey != nil, r.Creds.SessionToken != nil))
	collect(r.Images.Validate())
	if needCommit {
		collect(ValidateCommit(commit))
	}
	if len(problems) > 0 {
		return &ConfigError{Problems: dedupe(problems)}
	}
	return nil
}

// Run tests, builds one API image, and ships it with the web app to staging, then to
// production when toProduction is set.
func (r Release) Run(ctx context.Context, commit string, toProduction bool) (Timeline, error) {
	if err := r.validate(commit, true); err != nil {
		return nil, err
	}
	staging := r.Deployer(r.Staging)
	var image *dagger.Container
	var ref string
	steps := []Step{
		{"tests (api, web)", r.tests},
		{"build api", func(ctx context.Context) (err error) {
			if image, err = BuildAPI(ctx, r.API, commit, r.Images); err != nil {
				return err
			}
			image, err = SyncContainer(ctx, "build-api", image)
			return err
		}},
		{"apply " + r.Staging, func(ctx context.Context) error { _, err := staging.Apply(ctx); return err }},
		{"publish api", func(ctx context.Context) (err error) {
			ref, err = PublishAPI(ctx, r.Client, image, staging, "", commit)
			if err == nil {
				fmt.Fprintf(r.Log, "published %s\n", ref)
			}
			return err
		}},
	}
	steps = append(steps, r.ship(staging, &ref)...)
	if toProduction {
		production := r.Deployer(r.Production)
		steps = append(steps, Step{"apply " + r.Production, func(ctx context.Context) error { _, err := production.Apply(ctx); return err }})
		var prodRef string
		steps = append(steps, r.copyImage(production, &ref, &prodRef))
		steps = append(steps, r.ship(production, &prodRef)...)
	} else {
		steps = append(steps, Step{"deploy " + r.Production, func(context.Context) error {
			return &Skip{Reason: "not asked (release --production, or promote later)"}
		}})
	}
	return RunSteps(ctx, r.Log, steps)
}

// Promote ships exactly the image staging runs now to production (copied by digest into
// production's repository), with the web app rebuilt for production's API URL.
func (r Release) Promote(ctx context.Context) (Timeline, error) {
	if err := r.validate("", false); err != nil {
		return nil, err
	}
	staging, production := r.Deployer(r.Staging), r.Deployer(r.Production)
	var ref string
	steps := []Step{
		{"read " + r.Staging + " image", func(ctx context.Context) (err error) {
			ref, err = staging.RunningImage(ctx)
			if err == nil {
				fmt.Fprintf(r.Log, "%s runs %s\n", r.Staging, ref)
			}
			return err
		}},
		{"apply " + r.Production, func(ctx context.Context) error { _, err := production.Apply(ctx); return err }},
	}
	var prodRef string
	steps = append(steps, r.copyImage(production, &ref, &prodRef))
	steps = append(steps, r.ship(production, &prodRef)...)
	return RunSteps(ctx, r.Log, steps)
}

// copyImage copies *from (set by an earlier step) into d's repository, by digest, and sets
// *to: an environment runs images from its own repository only.
func (r Release) copyImage(d Deployer, from, to *string) Step {
	return Step{"copy image to " + d.Env.Name, func(ctx context.Context) (err error) {
		*to, err = d.CopyImage(ctx, *from)
		if err == nil {
			fmt.Fprintf(r.Log, "copied %s to %s\n", *from, *to)
		}
		return err
	}}
}

// ship rolls the image out and publishes the environment's web bundle. ref is read when the
// step runs, after an earlier step set it.
func (r Release) ship(d Deployer, ref *string) []Step {
	env := d.Env.Name
	return []Step{
		{"rollout " + env, func(ctx context.Context) error {
			out, err := d.Deploy(ctx, *ref)
			fmt.Fprint(r.Log, out)
			return err
		}},
		{"web " + env, func(ctx context.Context) error {
			apiURL, err := d.Output(ctx, OutputAPIURL)
			if err != nil {
				return err
			}
			bundle, err := BuildWeb(ctx, r.Client, r.Web, r.Images, apiURL)
			if err != nil {
				return err
			}
			// Built here, so that a failing build is reported as the build it is.
			if bundle, err = SyncDirectory(ctx, "build-web ("+env+")", bundle); err != nil {
				return err
			}
			out, err := d.PublishWeb(ctx, bundle)
			fmt.Fprint(r.Log, out)
			return err
		}},
	}
}

// tests runs the API's and the web app's tests concurrently.
func (r Release) tests(ctx context.Context) error {
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, build := range []struct {
		name string
		make func(context.Context, *dagger.Client, Source, Images) (*dagger.Container, error)
		src  Source
	}{{"test-api", TestAPI, r.API}, {"test-web", TestWeb, r.Web}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = RunCheck(ctx, build.name, func() (*dagger.Container, error) { return build.make(ctx, r.Client, build.src, r.Images) })
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// RunCheck builds a lazy container and syncs it, turning a failure into a StepError with
// the failing command's output.
func RunCheck(ctx context.Context, name string, build func() (*dagger.Container, error)) error {
	ctr, err := build()
	if err != nil {
		return err
	}
	_, err = SyncContainer(ctx, name, ctr)
	return err
}

func dedupe(s []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, v := range s {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}

// WebBundle builds the web app for env, with apiURL or the environment's api_url output.
func (r Release) WebBundle(ctx context.Context, env, apiURL string) (*dagger.Directory, error) {
	if apiURL == "" {
		var err error
		if apiURL, err = r.Deployer(env).Output(ctx, OutputAPIURL); err != nil {
			return nil, err
		}
	}
	return BuildWeb(ctx, r.Client, r.Web, r.Images, apiURL)
}
