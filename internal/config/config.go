// Package config reads kmdeploy's configuration from environment variables (with
// go-envconfig) and the environment's resource names from Terraform outputs.
//
// AWS credentials, profiles and endpoints are deliberately not configuration here:
// the SDK's default chain reads them (AWS_PROFILE, AWS_ACCESS_KEY_ID,
// AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_<SERVICE>, ...); see Config.AWS.
package config

import (
	"context"
	"reflect"
	"regexp"
	"slices"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/sethvargo/go-envconfig"

	"github.com/knowmetools/km-release/internal/terraform"
)

// Config is the resolved configuration of one kmdeploy run against one environment.
type Config struct {
	// Env names the environment (staging, production, or a disposable one); it is also
	// the Terraform workspace and part of resource names.
	Env string `env:"KM_ENV,required" expect:"an environment name: lower-case letters, digits and '-', starting with a letter, at most 32 characters (e.g. staging)" doc:"Environment name; also the Terraform workspace."`
	// Region is the AWS region (AWS_REGION, else AWS_DEFAULT_REGION).
	Region string `env:"AWS_REGION" required:"yes (or AWS_DEFAULT_REGION)" expect:"an AWS region such as eu-west-1 (AWS_REGION or AWS_DEFAULT_REGION)" doc:"AWS region of the environment."`
	// App is the application slug used in resource names.
	App string `env:"KM_APP,default=knowme" expect:"a slug: lower-case letters, digits and '-', starting with a letter" doc:"Application slug used in resource names."`

	Terraform Terraform
	Timeouts  Timeouts

	// ProtectedResources are extra Terraform addresses the guard refuses to destroy
	// or replace, on top of the built-in stateful types.
	ProtectedResources []string `env:"KM_PROTECTED_RESOURCES" expect:"a comma-separated list of Terraform resource addresses (e.g. aws_s3_bucket.uploads,module.db)" doc:"Extra Terraform addresses the destroy/replace guard protects."`
	// SecretTFVars names Terraform variables (without TF_VAR_) whose values are
	// secret, on top of the names that look secret (see IsSecretVarName).
	SecretTFVars []string `env:"KM_SECRET_TF_VARS" expect:"a comma-separated list of Terraform variable names without the TF_VAR_ prefix" doc:"Terraform variables (TF_VAR_<name>) to treat as secrets besides those whose names contain password, secret, token, key or credential."`
	// ResourcesFrom says where resource names come from: env (KM_* variables only),
	// terraform (outputs, then KM_* overrides) or auto (terraform only when a needed
	// name is not set by a KM_* variable).
	ResourcesFrom string `env:"KM_RESOURCES_FROM,default=auto" expect:"auto, env or terraform" doc:"Where resource names come from: auto (Terraform outputs only when a needed KM_<RESOURCE> variable is unset), env (never run Terraform) or terraform."`

	env Environ

	resMu sync.Mutex
	outs  map[string]terraform.Output

	redactOnce sync.Once
	redactor   *Redactor
}

// Terraform holds how to run Terraform for the environment.
type Terraform struct {
	Dir         string `env:"KM_TF_DIR,default=infra" expect:"the directory of the Terraform configuration" doc:"Terraform configuration directory."`
	Backend     string `env:"KM_TF_BACKEND,default=s3" expect:"s3 or local" doc:"Terraform state backend."`
	StateBucket string `env:"KM_TF_STATE_BUCKET" required:"when KM_TF_BACKEND=s3" expect:"the S3 bucket holding Terraform state" doc:"S3 bucket of the Terraform state."`
	StateKey    string `env:"KM_TF_STATE_KEY" default:"<KM_APP>/terraform.tfstate" expect:"the state object key, e.g. knowme/terraform.tfstate" doc:"State object key; each workspace's state lives under env:/<workspace>/<key>."`
	StateRegion string `env:"KM_TF_STATE_REGION" default:"the AWS region" expect:"an AWS region such as eu-west-1" doc:"Region of the state bucket."`
	// LocalStateDir keeps local state outside the configuration directory.
	LocalStateDir string `env:"KM_TF_LOCAL_STATE_DIR" default:"terraform's own (<KM_TF_DIR>/terraform.tfstate.d)" expect:"a directory for local state files" doc:"With the local backend: where state files are kept."`
	Binary        string `env:"KM_TF_BINARY" default:"terraform, else tofu, on PATH" expect:"the path or name of a terraform or tofu executable" doc:"Terraform executable."`
}

// Timeouts bound every wait kmdeploy does.
type Timeouts struct {
	Rollout          time.Duration `env:"KM_ROLLOUT_TIMEOUT,default=60m" expect:"a positive duration such as 60m" doc:"Longest wait for a CodeDeploy rollout to finish."`
	Migration        time.Duration `env:"KM_MIGRATION_TIMEOUT,default=30m" expect:"a positive duration such as 30m" doc:"Longest wait for the migration task run by the CodeDeploy hook."`
	Task             time.Duration `env:"KM_TASK_TIMEOUT,default=30m" expect:"a positive duration such as 30m" doc:"Longest wait for a one-off ECS task (run-task, jobs)."`
	WebInvalidation  time.Duration `env:"KM_WEB_INVALIDATION_TIMEOUT,default=15m" expect:"a positive duration such as 15m" doc:"Longest wait for a CloudFront invalidation after a web publish."`
	Terraform        time.Duration `env:"KM_TF_TIMEOUT,default=30m" expect:"a positive duration such as 30m" doc:"Longest run of one Terraform command (plan, apply, ...)."`
	TerraformLock    time.Duration `env:"KM_TF_LOCK_TIMEOUT,default=5m" expect:"a non-negative duration such as 5m" doc:"How long Terraform waits for the state lock held by another run."`
	TerraformOutputs time.Duration `env:"KM_TF_OUTPUTS_TIMEOUT,default=5m" expect:"a positive duration such as 5m" doc:"Longest wait for reading Terraform outputs when resolving resource names."`
}

// Variable documents one environment variable kmdeploy reads.
type Variable struct {
	Name     string
	Required string // "yes", "no" or a condition
	Default  string
	Secret   bool
	Expect   string
	Doc      string
}

// Variables lists every variable Load and Resources read, for `kmdeploy config`
// and the documentation.
func Variables() []Variable {
	vars := envVars(reflect.TypeFor[Config]())
	vars = slices.Insert(vars, 2, Variable{
		Name: "AWS_DEFAULT_REGION", Required: "if AWS_REGION is unset", Expect: "an AWS region", Doc: "Fallback for AWS_REGION.",
	})
	vars = append(vars, Variable{
		Name: "TF_VAR_<name>", Required: "no", Secret: true, Expect: "a Terraform variable value",
		Doc: "Terraform input variables, handed to Terraform in a private var file; secret when named in KM_SECRET_TF_VARS or named like a secret.",
	})
	fields := resourceFields()
	for i, v := range envVars(reflect.TypeFor[Resources]()) {
		v.Doc = "Overrides the Terraform output " + fields[i].output + "."
		v.Expect = "a resource name"
		vars = append(vars, v)
	}
	return vars
}

var (
	nameRE   = regexp.MustCompile(`^[a-z]([a-z0-9-]{0,30}[a-z0-9])?$`)
	regionRE = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]+$`)
	tfVarRE  = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`)
)

// Load reads the configuration from l (use OSEnv() in commands, MapEnv in tests).
// Every problem is reported in one *Error. Terraform backend requirements are checked
// only when Terraform is needed (see LoadFor and TerraformOptions), so commands that
// get all resource names from KM_* variables run without any Terraform settings.
func Load(ctx context.Context, l envconfig.Lookuper) (*Config, error) {
	cfg, probs := load(ctx, l)
	if err := probs.err(); err != nil {
		return nil, err
	}
	return cfg, nil
}

// Requirement is what one run needs besides the settings every run has.
type Requirement struct {
	// Resources are the resource names the run's operation declares.
	Resources Needs
	// Terraform says the run drives Terraform itself (the infra commands).
	Terraform bool
	// Flags are the problems found in the command's flags and arguments.
	Flags []FieldError
}

// LoadFor is Load for one run: the flags' problems, the settings' and, when
// Terraform will run (for the command itself or to read resource names), the state
// backend's all come in one *Error, before anything is done.
func LoadFor(ctx context.Context, l envconfig.Lookuper, req Requirement) (*Config, error) {
	cfg, probs := load(ctx, l)
	probs = append(slices.Clone(req.Flags), probs...)
	if req.Terraform || cfg.needsTerraform(&req.Resources) {
		_, backendProbs := cfg.backend()
		probs = append(probs, backendProbs...)
	}
	if err := probs.err(); err != nil {
		return nil, err
	}
	return cfg, nil
}

// load decodes and checks the settings; the configuration is usable for further
// checks even when there are problems.
func load(ctx context.Context, l envconfig.Lookuper) (*Config, problems) {
	if l == nil {
		l = OSEnv()
	}
	env := asEnviron(l)
	cfg := &Config{env: env}
	probs := decodeFields(ctx, cfg, env)

	if cfg.Region == "" {
		cfg.Region, _ = env.Lookup("AWS_DEFAULT_REGION")
	}
	bad := map[string]bool{}
	for _, p := range probs {
		bad[p.Var] = true
	}
	check := func(v string, ok bool, format string, args ...any) {
		if !bad[v] && !ok {
			probs.add(v, format, args...)
			bad[v] = true
		}
	}
	check("KM_ENV", nameRE.MatchString(cfg.Env), "cannot use %q; expected an environment name: lower-case letters, digits and '-', starting with a letter, at most 32 characters (e.g. staging)", cfg.Env)
	if cfg.Region == "" {
		check("AWS_REGION", false, "not set (nor AWS_DEFAULT_REGION); expected an AWS region such as eu-west-1")
	} else {
		check("AWS_REGION", regionRE.MatchString(cfg.Region), "cannot use %q; expected an AWS region such as eu-west-1", cfg.Region)
	}
	check("KM_APP", nameRE.MatchString(cfg.App), "cannot use %q; expected a slug: lower-case letters, digits and '-', starting with a letter", cfg.App)
	check("KM_TF_BACKEND", cfg.Terraform.Backend == "s3" || cfg.Terraform.Backend == "local", "cannot use %q; expected s3 or local", cfg.Terraform.Backend)
	if cfg.Terraform.StateRegion != "" {
		check("KM_TF_STATE_REGION", regionRE.MatchString(cfg.Terraform.StateRegion), "cannot use %q; expected an AWS region such as eu-west-1", cfg.Terraform.StateRegion)
	}
	switch cfg.ResourcesFrom {
	case "auto", "env", "terraform":
	default:
		check("KM_RESOURCES_FROM", false, "cannot use %q; expected auto, env or terraform", cfg.ResourcesFrom)
	}
	for _, d := range []struct {
		v    string
		d    time.Duration
		zero bool
	}{
		{"KM_ROLLOUT_TIMEOUT", cfg.Timeouts.Rollout, false},
		{"KM_MIGRATION_TIMEOUT", cfg.Timeouts.Migration, false},
		{"KM_TASK_TIMEOUT", cfg.Timeouts.Task, false},
		{"KM_WEB_INVALIDATION_TIMEOUT", cfg.Timeouts.WebInvalidation, false},
		{"KM_TF_TIMEOUT", cfg.Timeouts.Terraform, false},
		{"KM_TF_LOCK_TIMEOUT", cfg.Timeouts.TerraformLock, true},
		{"KM_TF_OUTPUTS_TIMEOUT", cfg.Timeouts.TerraformOutputs, false},
	} {
		check(d.v, d.d > 0 || (d.zero && d.d == 0), "cannot use %s; expected a positive duration such as 30m", d.d)
	}
	for _, a := range cfg.ProtectedResources {
		check("KM_PROTECTED_RESOURCES", isAddress(a), "cannot use %q; expected Terraform resource addresses such as aws_s3_bucket.uploads or module.db", a)
	}
	for _, n := range cfg.SecretTFVars {
		check("KM_SECRET_TF_VARS", tfVarRE.MatchString(n), "cannot use %q; expected Terraform variable names without the TF_VAR_ prefix", n)
	}
	if cfg.Terraform.StateKey == "" {
		cfg.Terraform.StateKey = cfg.App + "/terraform.tfstate"
	}
	if cfg.Terraform.StateRegion == "" {
		cfg.Terraform.StateRegion = cfg.Region
	}
	return cfg, probs
}

// isAddress accepts resource addresses loosely (type.name, module paths, indexes);
// Terraform itself is the judge of existence.
func isAddress(a string) bool {
	return a != "" && a[len(a)-1] != '.' && addressRE.MatchString(a)
}

var addressRE = regexp.MustCompile(`^(module\.[A-Za-z_][\w-]*(\[[^\]]+\])?\.?)*([A-Za-z_][\w-]*\.[A-Za-z_][\w-]*(\[[^\]]+\])?)?$`)

// Lookup reads a variable from the environment the configuration was loaded from.
func (c *Config) Lookup(key string) (string, bool) { return c.env.Lookup(key) }

// Environ returns the environment the configuration was loaded from, as a map (the
// environment Terraform and child processes get).
func (c *Config) Environ() map[string]string { return envMap(c.env) }

// AWS loads the SDK's default configuration (credentials chain, profiles,
// AWS_ENDPOINT_URL*) with the environment's region, reading variables from the
// same environment as the configuration. Every command builds its clients from it.
func (c *Config) AWS(ctx context.Context) (aws.Config, error) {
	// One retry policy for every call, the SDK's: its standard retryer (throttling,
	// timeouts, 5xx, with backoff), given more attempts than its default three, since
	// a release waits minutes on a few APIs. Code above it does not retry again.
	opts := []func(*awsconfig.LoadOptions) error{awsconfig.WithRegion(c.Region), awsconfig.WithRetryMaxAttempts(5)}
	if _, isOS := c.env.(osEnv); !isOS {
		if _, isLookup := c.env.(lookupOnly); !isLookup {
			// A test or assembled environment: the SDK reads the process environment,
			// so hand it the relevant values explicitly.
			opts = append(opts, awsOptionsFromEnv(c.env)...)
		}
	}
	return awsconfig.LoadDefaultConfig(ctx, opts...)
}
