package rehearsal

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/sethvargo/go-envconfig"

	"github.com/knowmetools/km-release/internal/config"
	"github.com/knowmetools/km-release/internal/dbbackup"
	"github.com/knowmetools/km-release/internal/dbsecret"
	"github.com/knowmetools/km-release/lambdas/jobs/jobrun"
	"github.com/knowmetools/km-release/lambdas/migrate/hook"
	"github.com/knowmetools/km-release/testrig/awsemu"
	"github.com/knowmetools/km-release/testrig/realinfra"
)

// The rehearsal's environment: one workspace of the real infra/, its state in a bucket
// of the emulation, its host names in a hosted zone of the emulation.
const (
	envName     = "rehearsal"
	appSlug     = "knowme"
	dnsZone     = "knowme.test"
	stateBucket = "knowme-terraform-state"
)

// Environment is the rehearsal environment as `kmdeploy infra apply` made it.
type Environment struct {
	// Resources are the workspace's Terraform outputs, read the way kmdeploy reads them.
	Resources config.Resources
	// DBAdminURL connects to the application database as the admin role (checks
	// only), with the credentials Terraform stored in the db-admin secret.
	DBAdminURL string
}

// kmdeployEnv is the environment every kmdeploy run of the rehearsal gets: the
// emulation's endpoint and credentials, the state bucket, the copy of infra/ and its
// variables. Resource names come from the workspace's Terraform outputs, as in CI.
func (r *run) kmdeployEnv(infra *realinfra.Copy) []string {
	env := append(slices.Clone(r.emu.Env()), infra.Env...)
	return append(env,
		"PATH="+os.Getenv("PATH"), "HOME="+r.workDir,
		"KM_ENV="+envName, "KM_APP="+appSlug, "KM_TF_STATE_BUCKET="+stateBucket, "KM_TF_DIR="+infra.Dir,
		"TF_VAR_dns_zone_name="+dnsZone,
		// The pipeline's role may read this workspace's state (for resource names).
		"TF_VAR_state_bucket="+stateBucket,
		"TF_VAR_lambda_dist_dir="+infra.LambdaDir,
		// The emulation's account has no GitHub OIDC provider yet; production
		// accounts create it once (docs/infra.md).
		"TF_VAR_manage_github_oidc_provider=true",
		"KM_ROLLOUT_TIMEOUT=4m", "KM_MIGRATION_TIMEOUT=3m", "KM_TASK_TIMEOUT=3m", "KM_WEB_INVALIDATION_TIMEOUT=2m",
	)
}

// pipelineKmdeploy is kmdeploy as the release workflow runs it: with GitHub's OIDC
// token for this repository's environment, exchanged for the role infra/ gives the
// pipeline (the SDK's web identity provider, as on GitHub Actions); Terraform reads
// the state with the same role.
func (r *run) pipelineKmdeploy(roleARN string) (*kmdeploy, error) {
	token := filepath.Join(r.workDir, "github-oidc-token")
	if err := os.WriteFile(token, []byte(awsemu.WebIdentityToken("repo:knowmetools/km-release:environment:"+envName)), 0o600); err != nil {
		return nil, err
	}
	env := slices.DeleteFunc(slices.Clone(r.kd.env), func(kv string) bool {
		return strings.HasPrefix(kv, "AWS_ACCESS_KEY_ID=") || strings.HasPrefix(kv, "AWS_SECRET_ACCESS_KEY=")
	})
	env = append(env, "AWS_ROLE_ARN="+roleARN, "AWS_WEB_IDENTITY_TOKEN_FILE="+token, "AWS_ROLE_SESSION_NAME=github-actions",
		// The SDK builds the STS client of the web identity provider before it reads
		// AWS_ENDPOINT_URL: only the service-specific variable reaches it.
		"AWS_ENDPOINT_URL_STS="+r.emu.Endpoint())
	return &kmdeploy{bin: r.kd.bin, out: r.kd.out, env: env}, nil
}

// accountSetup creates what infra/ expects to exist in an account already (see
// docs/infra.md, "Once per AWS account"): the state bucket and the DNS zone.
func (r *run) accountSetup(ctx context.Context) error {
	cfg := r.emu.AWSConfig()
	if _, err := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }).CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(stateBucket)}); err != nil {
		return fmt.Errorf("create the state bucket: %w", err)
	}
	if _, err := route53.NewFromConfig(cfg).CreateHostedZone(ctx, &route53.CreateHostedZoneInput{Name: aws.String(dnsZone), CallerReference: aws.String(envName)}); err != nil {
		return fmt.Errorf("create the hosted zone %s: %w", dnsZone, err)
	}
	return nil
}

// readEnvironment reads the applied environment's outputs with kmdeploy's own
// configuration code, and the database's admin credentials from its secret.
func (r *run) readEnvironment(ctx context.Context) (*Environment, error) {
	return r.readEnvironmentOf(ctx, envName)
}

// readEnvironmentOf is readEnvironment for workspace name.
func (r *run) readEnvironmentOf(ctx context.Context, name string) (*Environment, error) {
	vars := map[string]string{}
	for _, kv := range r.kd.env {
		k, v, _ := strings.Cut(kv, "=")
		vars[k] = v
	}
	vars["KM_ENV"] = name
	cfg, err := config.Load(ctx, config.MapEnv(vars))
	if err != nil {
		return nil, err
	}
	res, err := cfg.Resources(ctx)
	if err != nil {
		return nil, err
	}
	creds, err := dbsecret.Read(ctx, secretsmanager.NewFromConfig(r.emu.AWSConfig()), res.DBAdminSecretARN)
	if err != nil {
		return nil, err
	}
	conn := dbbackup.Conn{Host: creds.Host, Port: creds.Port, DBName: creds.DBName, User: creds.Username, Password: creds.Password}
	return &Environment{Resources: *res, DBAdminURL: conn.URL()}, nil
}

// wireLambdas makes the emulation run the product's own handlers for the functions
// Terraform created from the zips (Lambda cannot run them here: it would need Docker).
func (r *run) wireLambdas(res config.Resources) {
	r.wireLambdaNames(res.MigrateFunction, res.JobsFunction)
}

// wireLambdaNames is wireLambdas by function name, also before the functions exist.
func (r *run) wireLambdaNames(migrateFunction, jobsFunction string) {
	logger := slog.New(slog.NewJSONHandler(io.MultiWriter(r.detailWriter(), &r.lambdaLog), nil))
	r.emu.RegisterLambda(migrateFunction, func(ctx context.Context, env map[string]string, awsCfg aws.Config) (lambda.Handler, error) {
		h := hook.New(ctx, envconfig.MapLookuper(env), awsCfg, logger)
		return lambda.NewHandler(h.Handle), nil
	})
	r.emu.RegisterLambda(jobsFunction, func(ctx context.Context, env map[string]string, awsCfg aws.Config) (lambda.Handler, error) {
		j, err := jobrun.New(ctx, envconfig.MapLookuper(env), awsCfg, logger)
		if err != nil {
			return nil, err
		}
		return lambda.NewHandler(j.Handle), nil
	})
}

// exports renders the environment of kmdeploy runs as shell exports, for a user who
// keeps the rehearsal up (Options.Keep), plus what plain terraform needs to find the
// workspace kmdeploy initialised.
func (r *run) exports(w io.Writer) {
	vars := map[string]string{}
	for _, kv := range r.kd.env {
		k, v, _ := strings.Cut(kv, "=")
		vars[k] = v
	}
	vars["PATH"] = filepath.Dir(r.kd.bin) + ":" + vars["PATH"]
	vars["TF_DATA_DIR"] = filepath.Join(vars["KM_TF_DIR"], ".terraform", "kmdeploy", envName, "data")
	vars["TF_WORKSPACE"] = envName
	for _, k := range slices.Sorted(maps.Keys(vars)) {
		if k == "HOME" {
			continue
		}
		fmt.Fprintf(w, "export %s=%q\n", k, vars[k])
	}
}
