package pipeline

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"dagger.io/dagger"
)

// Credentials are the secrets the toolbox receives, only ever as secret variables (never in
// a layer, an argument or a log line).
type Credentials struct {
	AccessKeyID     *dagger.Secret
	SecretAccessKey *dagger.Secret
	SessionToken    *dagger.Secret
	// TFVars are secret Terraform variables; each secret's URI ends in its variable name
	// (see TFVarName).
	TFVars []*dagger.Secret
}

// Deployer runs kmdeploy in the toolbox for one environment.
type Deployer struct {
	Toolbox *dagger.Container
	Env     Environment
	Creds   Credentials
	// Now gives the cache-busting value of side-effecting commands (time.Now when nil).
	Now func() time.Time
}

// Container is the toolbox configured for the environment, with the credentials.
func (d Deployer) Container(ctx context.Context) (*dagger.Container, error) {
	if err := d.Env.Validate(); err != nil {
		return nil, err
	}
	if err := CheckCredentials(d.Creds.AccessKeyID != nil, d.Creds.SecretAccessKey != nil, d.Creds.SessionToken != nil); err != nil {
		return nil, err
	}
	ctr := d.Toolbox
	for _, v := range d.Env.Vars() {
		ctr = ctr.WithEnvVariable(v.Name, v.Value)
	}
	ctr = ctr.WithSecretVariable("AWS_ACCESS_KEY_ID", d.Creds.AccessKeyID).
		WithSecretVariable("AWS_SECRET_ACCESS_KEY", d.Creds.SecretAccessKey)
	if d.Creds.SessionToken != nil {
		ctr = ctr.WithSecretVariable("AWS_SESSION_TOKEN", d.Creds.SessionToken)
	}
	var problems []string
	for _, s := range d.Creds.TFVars {
		uri, err := s.URI(ctx)
		if err != nil {
			return nil, fmt.Errorf("reading a --tf-var secret's URI: %w", err)
		}
		name, err := TFVarName(uri)
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		ctr = ctr.WithSecretVariable(name, s)
	}
	if len(problems) > 0 {
		return nil, &ConfigError{Problems: problems}
	}
	return ctr, nil
}

// exec runs argv in the toolbox and returns its stdout. Every call runs anew: the engine
// would otherwise serve a second apply or rollout with identical inputs from its cache.
// with, when set, adds inputs (e.g. a mounted bundle) before the command runs.
func (d Deployer) exec(ctx context.Context, step string, argv []string, with func(*dagger.Container) *dagger.Container, opts ...dagger.ContainerWithExecOpts) (*dagger.Container, error) {
	ctr, err := d.Container(ctx)
	if err != nil {
		return nil, err
	}
	if with != nil {
		ctr = with(ctr)
	}
	now := time.Now
	if d.Now != nil {
		now = d.Now
	}
	ctr, err = ctr.WithEnvVariable("KM_PIPELINE_RUN", strconv.FormatInt(now().UnixNano(), 10)).
		WithExec(argv, opts...).
		Sync(ctx)
	if err != nil {
		return nil, stepError(fmt.Sprintf("%s (%s)", step, d.Env.Name), err)
	}
	return ctr, nil
}

func (d Deployer) run(ctx context.Context, step string, argv []string) (string, error) {
	ctr, err := d.exec(ctx, step, argv, nil)
	if err != nil {
		return "", err
	}
	return ctr.Stdout(ctx)
}

// Plan shows what Terraform would change.
func (d Deployer) Plan(ctx context.Context) (string, error) { return d.run(ctx, "plan", PlanArgs()) }

// Apply plans and applies the environment's infrastructure.
func (d Deployer) Apply(ctx context.Context) (string, error) {
	return d.run(ctx, "apply", ApplyArgs())
}

// Drift fails when live infrastructure no longer matches the configuration.
func (d Deployer) Drift(ctx context.Context) (string, error) {
	return d.run(ctx, "drift", DriftArgs())
}

// Deploy rolls image (pinned by digest) out to the environment.
func (d Deployer) Deploy(ctx context.Context, image string) (string, error) {
	argv, err := RolloutArgs(image)
	if err != nil {
		return "", err
	}
	return d.run(ctx, "rollout", argv)
}

// CopyImage copies image (pinned by digest, from another environment's repository) into
// this environment's repository and returns the copy: the same digest, in a repository the
// environment's tasks may pull and whose lifecycle rules are its own.
func (d Deployer) CopyImage(ctx context.Context, image string) (string, error) {
	argv, err := ImageCopyArgs(image)
	if err != nil {
		return "", err
	}
	out, err := d.run(ctx, "image copy", argv)
	if err != nil {
		return "", err
	}
	copied, err := ParseImageCopy(out, image)
	if err != nil {
		return "", stepError(fmt.Sprintf("image copy (%s)", d.Env.Name), err)
	}
	return copied, nil
}

// bundleDir is where a web bundle is mounted in the toolbox.
const bundleDir = "/bundle"

// PublishWeb puts bundle live for the environment.
func (d Deployer) PublishWeb(ctx context.Context, bundle *dagger.Directory) (string, error) {
	argv, err := PublishWebArgs(bundleDir)
	if err != nil {
		return "", err
	}
	ctr, err := d.exec(ctx, "publish-web", argv, func(c *dagger.Container) *dagger.Container {
		return c.WithMountedDirectory(bundleDir, bundle)
	})
	if err != nil {
		return "", err
	}
	return ctr.Stdout(ctx)
}

// Status is what the environment runs, as text for people.
func (d Deployer) Status(ctx context.Context) (string, error) {
	return d.run(ctx, "status", StatusArgs(false))
}

// RunningImage is the image the environment's service runs, pinned by digest.
func (d Deployer) RunningImage(ctx context.Context) (string, error) {
	out, err := d.run(ctx, "status", StatusArgs(true))
	if err != nil {
		return "", err
	}
	image, err := ParseStatus(out)
	if err != nil {
		return "", stepError(fmt.Sprintf("status (%s)", d.Env.Name), err)
	}
	return image, nil
}

// Output reads one Terraform output of the environment.
func (d Deployer) Output(ctx context.Context, name string) (string, error) {
	out, err := d.run(ctx, "output "+name, OutputArgs(name))
	if err != nil {
		return "", err
	}
	return trimOutput(out, name)
}

// RegistryPassword asks kmdeploy for the ECR password. Its stdout goes to a file rather
// than to the logs, and the value leaves the toolbox only as a secret.
func (d Deployer) RegistryPassword(ctx context.Context, c *dagger.Client) (*dagger.Secret, error) {
	const passwordFile = "/tmp/ecr-password"
	ctr, err := d.exec(ctx, "ecr-login", ECRLoginArgs(), nil, dagger.ContainerWithExecOpts{RedirectStdout: passwordFile})
	if err != nil {
		return nil, err
	}
	password, err := ctr.File(passwordFile).Contents(ctx)
	if err != nil {
		return nil, stepError("ecr-login", err)
	}
	password = strings.TrimSpace(password)
	if password == "" {
		return nil, &StepError{Step: "ecr-login", Err: fmt.Errorf("kmdeploy ecr-login printed no password")}
	}
	return c.SetSecret("ecr-password-"+d.Env.Name, password), nil
}
