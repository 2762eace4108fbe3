package rehearsal

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"reflect"
	"strconv"
	"strings"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront"
	cftypes "github.com/aws/aws-sdk-go-v2/service/cloudfront/types"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/jackc/pgx/v5"
	"github.com/sethvargo/go-envconfig"

	"github.com/knowmetools/km-release/internal/awsemu"
	"github.com/knowmetools/km-release/internal/config"
	"github.com/knowmetools/km-release/internal/envfixture"
	"github.com/knowmetools/km-release/internal/pglocal"
	"github.com/knowmetools/km-release/lambdas/jobs/jobs"
	"github.com/knowmetools/km-release/lambdas/migrate/hook"
)

// Description is the rehearsal environment: the resources infra/ defines for one
// workspace, named the way infra/ names them. Provision creates them through the SDK
// (the AWS Terraform provider cannot be installed offline); a test checks that the
// outputs it yields are exactly infra/outputs.tf's.
type Description struct {
	// Env is the environment (workspace) name; App the application slug.
	Env, App string
	// ContainerName and ContainerPort of the API container.
	ContainerName string
	ContainerPort int32
	// HookEvent is the lifecycle event of the migration hook (infra's default).
	HookEvent string
	// DBName, DBAdminUser and DBAppUser are the database and its two roles.
	DBName, DBAdminUser, DBAppUser string
	// AdminEmail is the first admin user the migration creates.
	AdminEmail string
}

// DefaultDescription is the environment `make rehearse` builds.
func DefaultDescription() Description {
	return Description{
		Env: "rehearsal", App: "knowme", ContainerName: "api", ContainerPort: 8000, HookEvent: "BeforeInstall",
		DBName: "knowme", DBAdminUser: "knowme_admin", DBAppUser: "knowme_app", AdminEmail: "admin@example.com",
	}
}

func (d Description) prefix() string { return d.App + "-" + d.Env }

// Environment is a provisioned rehearsal environment.
type Environment struct {
	Description
	Resources config.Resources
	// TaskAssignPublicIP mirrors infra's task_assign_public_ip output.
	TaskAssignPublicIP string
	// Repository is the ECR repository name; VPC the VPC ID.
	Repository, VPC string
	// DBAdminURL connects to the application database as the admin role (checks only).
	DBAdminURL string

	// api is the API's part, built by envfixture.
	api *envfixture.Env
}

// Outputs are the environment's Terraform outputs as infra/outputs.tf names them: every
// config.Resources field by its `output` tag, plus the outputs kmdeploy does not read.
func (e *Environment) Outputs() map[string]any {
	out := map[string]any{
		"environment":           e.Env,
		"region":                awsemu.DefaultRegion,
		"task_assign_public_ip": e.TaskAssignPublicIP,
	}
	rv := reflect.ValueOf(e.Resources)
	rt := rv.Type()
	for i := range rt.NumField() {
		out[rt.Field(i).Tag.Get("output")] = rv.Field(i).Interface()
	}
	return out
}

// Environ is the process environment kmdeploy needs: the emulation's endpoint and credentials and
// every resource name as its KM_* variable, so no Terraform runs.
func (e *Environment) Environ(emu *awsemu.Emulator) []string {
	env := append([]string{}, emu.Env()...)
	env = append(env, "KM_ENV="+e.Env, "KM_APP="+e.App, "KM_RESOURCES_FROM=env")
	for k, v := range e.Resources.Env() {
		env = append(env, k+"="+v)
	}
	return env
}

// provisioner holds the state of one Provision.
type provisioner struct {
	d   Description
	emu *awsemu.Emulator
	env *Environment
	cfg aws.Config

	adminPassword, appPassword, adminUserPass string
	adminUserParam                            string
	db                                        *pglocal.Server
	lambdaLog                                 io.Writer
}

// Provision creates the environment of d in emu, with its database in db, and
// initialImage as the task definition's first image. The Lambdas' JSON log lines go
// to lambdaLog (nil discards them), as they would go to CloudWatch Logs.
func Provision(ctx context.Context, emu *awsemu.Emulator, db *pglocal.Server, d Description, initialImage string, lambdaLog io.Writer) (*Environment, error) {
	if lambdaLog == nil {
		lambdaLog = io.Discard
	}
	p := &provisioner{d: d, emu: emu, db: db, cfg: emu.AWSConfig(), lambdaLog: lambdaLog, env: &Environment{Description: d, TaskAssignPublicIP: "DISABLED"}}
	steps := []struct {
		what string
		do   func(context.Context) error
	}{
		{"database", p.database},
		{"secrets", p.secrets},
		{"API service, migration hook and CodeDeploy", func(ctx context.Context) error { return p.api(ctx, initialImage) }},
		{"CI role", p.ciRole},
		{"jobs Lambda and schedule", p.jobs},
		{"web bucket and CloudFront", p.web},
		{"media bucket and RDS instance", p.data},
	}
	for _, s := range steps {
		if err := s.do(ctx); err != nil {
			return nil, fmt.Errorf("provision %s: %s: %w", d.prefix(), s.what, err)
		}
	}
	return p.env, nil
}

// database creates the admin role and the application database, as RDS's master user
// and initial database would be; the app role is the migration's job.
func (p *provisioner) database(ctx context.Context) error {
	p.adminPassword, p.appPassword, p.adminUserPass = randomSecret(), randomSecret(), randomSecret()
	conn, err := pgx.Connect(ctx, p.db.SuperURL("postgres"))
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	admin := pgx.Identifier{p.d.DBAdminUser}.Sanitize()
	for _, stmt := range []string{
		fmt.Sprintf(`create role %s with login createrole password '%s'`, admin, p.adminPassword),
		fmt.Sprintf(`create database %s owner %s`, pgx.Identifier{p.d.DBName}.Sanitize(), admin),
	} {
		if _, err := conn.Exec(ctx, stmt); err != nil {
			// The role statement holds the password; the driver may quote it back.
			return fmt.Errorf("create the database and its admin role: %s", strings.ReplaceAll(err.Error(), p.adminPassword, "[redacted]"))
		}
	}
	p.env.Resources.DBName = p.d.DBName
	p.env.Resources.DBEndpoint = net.JoinHostPort(p.db.Host, strconv.Itoa(p.db.Port))
	p.env.DBAdminURL = p.db.URL(p.d.DBName, p.d.DBAdminUser, p.adminPassword)
	return nil
}

// secrets stores the database credentials in Secrets Manager (infra's JSON shape) and
// the first admin's password in SSM, for the task definition's secrets.
func (p *provisioner) secrets(ctx context.Context) error {
	sm := secretsmanager.NewFromConfig(p.cfg)
	for _, s := range []struct {
		suffix, user, password string
		dst                    *string
	}{
		{"db-admin", p.d.DBAdminUser, p.adminPassword, &p.env.Resources.DBAdminSecretARN},
		{"db-app", p.d.DBAppUser, p.appPassword, &p.env.Resources.DBAppSecretARN},
	} {
		value, _ := json.Marshal(map[string]any{
			"username": s.user, "password": s.password, "host": p.db.Host, "port": p.db.Port, "dbname": p.d.DBName,
		})
		out, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(p.d.prefix() + "/" + s.suffix), SecretString: aws.String(string(value))})
		if err != nil {
			return err
		}
		*s.dst = aws.ToString(out.ARN)
	}
	p.adminUserParam = "/" + p.d.prefix() + "/admin-password"
	_, err := ssm.NewFromConfig(p.cfg).PutParameter(ctx, &ssm.PutParameterInput{
		Name: aws.String(p.adminUserParam), Value: aws.String(p.adminUserPass), Type: ssmtypes.ParameterTypeSecureString,
	})
	return err
}

// api builds the API's part of the environment with envfixture: the task definition
// carries the database configuration as environment and the passwords as secrets.
func (p *provisioner) api(ctx context.Context, image string) error {
	kv := func(k, v string) ecstypes.KeyValuePair {
		return ecstypes.KeyValuePair{Name: aws.String(k), Value: aws.String(v)}
	}
	secret := func(k, from string) ecstypes.Secret {
		return ecstypes.Secret{Name: aws.String(k), ValueFrom: aws.String(from)}
	}
	db := p.env.Resources
	fx, err := envfixture.New(ctx, p.emu, envfixture.Options{
		Name: p.d.prefix(), ContainerName: p.d.ContainerName, ContainerPort: p.d.ContainerPort,
		HookEvent: p.d.HookEvent, MigrateHook: p.migrateHandler, InitialImage: image,
		ProdPort: 443, TestPort: 8443,
		Environment: []ecstypes.KeyValuePair{
			kv("DJANGO_DB_HOST", p.db.Host), kv("DJANGO_DB_PORT", strconv.Itoa(p.db.Port)), kv("DJANGO_DB_NAME", p.d.DBName),
			kv("DJANGO_DB_USER", p.d.DBAppUser), kv("DATABASE_ADMIN_USER", p.d.DBAdminUser), kv("ADMIN_EMAIL", p.d.AdminEmail),
		},
		Secrets: []ecstypes.Secret{
			secret("DJANGO_DB_PASSWORD", db.DBAppSecretARN+":password::"),
			secret("DATABASE_ADMIN_PASSWORD", db.DBAdminSecretARN+":password::"),
			secret("ADMIN_PASSWORD", p.adminUserParam),
		},
	})
	if err != nil {
		return err
	}
	p.env.api, p.env.Repository, p.env.VPC = fx, fx.Repository, fx.VPC
	r := fx.Resources
	r.DBName, r.DBEndpoint, r.DBAdminSecretARN, r.DBAppSecretARN = db.DBName, db.DBEndpoint, db.DBAdminSecretARN, db.DBAppSecretARN
	p.env.Resources = r
	return nil
}

// ciRole is the role the release workflow assumes through GitHub's OIDC provider.
func (p *provisioner) ciRole(ctx context.Context) error {
	trust := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::%s:oidc-provider/token.actions.githubusercontent.com"},"Action":"sts:AssumeRoleWithWebIdentity"}]}`, awsemu.AccountID)
	out, err := iam.NewFromConfig(p.cfg).CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(p.d.prefix() + "-github-actions"), AssumeRolePolicyDocument: aws.String(trust)})
	if err != nil {
		return err
	}
	p.env.Resources.GitHubActionsRoleARN = aws.ToString(out.Role.Arn)
	return nil
}

// jobs creates the background jobs function (configured like the migration hook,
// plus the service), registers the product's handler for it with the emulation, and
// schedules it.
func (p *provisioner) jobs(ctx context.Context) error {
	r := &p.env.Resources
	r.JobsFunction = p.d.prefix() + "-jobs"
	env := envfixture.MigrateEnv(r)
	env["SERVICE"] = r.Service
	out, err := awslambda.NewFromConfig(p.cfg).CreateFunction(ctx, &awslambda.CreateFunctionInput{
		FunctionName: aws.String(r.JobsFunction), Role: aws.String(p.env.api.LambdaRole), Runtime: lambdatypes.RuntimeProvidedal2023,
		Handler: aws.String("bootstrap"), Code: &lambdatypes.FunctionCode{ZipFile: awsemu.PlaceholderZip()}, Timeout: aws.Int32(900),
		Environment: &lambdatypes.Environment{Variables: env},
	})
	if err != nil {
		return err
	}
	p.emu.RegisterLambda(r.JobsFunction, p.jobsHandler)
	eb := eventbridge.NewFromConfig(p.cfg)
	r.JobsScheduleRule = p.d.prefix() + "-jobs"
	if _, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String(r.JobsScheduleRule), ScheduleExpression: aws.String("rate(15 minutes)")}); err != nil {
		return err
	}
	_, err = eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String(r.JobsScheduleRule), Targets: []ebtypes.Target{{Id: aws.String("jobs"), Arn: out.FunctionArn}}})
	return err
}

// migrateHandler runs the product's migration hook in-process, configured by the
// function's environment.
func (p *provisioner) migrateHandler(ctx context.Context, env map[string]string, awsCfg aws.Config) (lambda.Handler, error) {
	h := hook.New(ctx, envconfig.MapLookuper(env), awsCfg, p.lambdaLogger())
	return lambda.NewHandler(h.Handle), nil
}

// lambdaLogger writes JSON lines, like the functions' own logger in Lambda.
func (p *provisioner) lambdaLogger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(p.lambdaLog, nil))
}

// jobsHandler runs the product's background jobs Lambda in-process.
func (p *provisioner) jobsHandler(ctx context.Context, env map[string]string, awsCfg aws.Config) (lambda.Handler, error) {
	j, err := jobs.New(ctx, envconfig.MapLookuper(env), awsCfg, p.lambdaLogger())
	if err != nil {
		return nil, err
	}
	return lambda.NewHandler(j.Handle), nil
}

func (p *provisioner) web(ctx context.Context) error {
	r := &p.env.Resources
	r.WebBucket = p.d.prefix() + "-web"
	if _, err := p.s3().CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(r.WebBucket)}); err != nil {
		return err
	}
	origin := r.WebBucket + ".s3.amazonaws.com"
	out, err := cloudfront.NewFromConfig(p.cfg).CreateDistribution(ctx, &cloudfront.CreateDistributionInput{DistributionConfig: &cftypes.DistributionConfig{
		CallerReference: aws.String(p.d.prefix() + "-web"), Comment: aws.String("web app of " + p.d.prefix()), Enabled: aws.Bool(true),
		DefaultRootObject: aws.String("index.html"),
		Origins: &cftypes.Origins{Quantity: aws.Int32(1), Items: []cftypes.Origin{{
			Id: aws.String("web"), DomainName: aws.String(origin), S3OriginConfig: &cftypes.S3OriginConfig{OriginAccessIdentity: aws.String("")},
		}}},
		DefaultCacheBehavior: &cftypes.DefaultCacheBehavior{
			TargetOriginId: aws.String("web"), ViewerProtocolPolicy: cftypes.ViewerProtocolPolicyRedirectToHttps,
			ForwardedValues: &cftypes.ForwardedValues{QueryString: aws.Bool(false), Cookies: &cftypes.CookiePreference{Forward: cftypes.ItemSelectionNone}},
			MinTTL:          aws.Int64(0),
		},
	}})
	if err != nil {
		return err
	}
	r.DistributionID = aws.ToString(out.Distribution.Id)
	r.DistributionDomain = aws.ToString(out.Distribution.DomainName)
	r.WebURL = "https://" + r.DistributionDomain
	return nil
}

func (p *provisioner) data(ctx context.Context) error {
	r := &p.env.Resources
	r.MediaBucket = p.d.prefix() + "-media"
	if _, err := p.s3().CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(r.MediaBucket)}); err != nil {
		return err
	}
	// The instance is moto's bookkeeping; the database itself is the local Postgres.
	r.DBInstanceID = p.d.prefix()
	_, err := rds.NewFromConfig(p.cfg).CreateDBInstance(ctx, &rds.CreateDBInstanceInput{
		DBInstanceIdentifier: aws.String(r.DBInstanceID), DBInstanceClass: aws.String("db.t4g.micro"), Engine: aws.String("postgres"),
		AllocatedStorage: aws.Int32(20), DBName: aws.String(p.d.DBName), MasterUsername: aws.String(p.d.DBAdminUser),
		MasterUserPassword: aws.String(p.adminPassword),
	})
	return err
}

func (p *provisioner) s3() *s3.Client {
	return s3.NewFromConfig(p.cfg, func(o *s3.Options) { o.UsePathStyle = true })
}
