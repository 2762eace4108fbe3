package rehearsal

import (
	"archive/zip"
	"bytes"
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
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
	cdtypes "github.com/aws/aws-sdk-go-v2/service/codedeploy/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
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

// provisioner holds the clients of one Provision.
type provisioner struct {
	d   Description
	emu *awsemu.Emulator
	env *Environment
	cfg aws.Config

	lbSG, lbARN                                 string
	executionRole, taskRole, cdRole, lambdaRole string
	adminPassword, appPassword, adminUserPass   string
	adminSecretValue, appSecretValue            string
	adminUserParam                              string
	db                                          *pglocal.Server
	lambdaLog                                   io.Writer
}

// Provision creates the environment of d in emu, with its database in db, and
// initialImage as the task definition's first image. The Lambdas' JSON log lines go
// to lambdaLog (nil discards them), as they would go to CloudWatch Logs.
func Provision(ctx context.Context, emu *awsemu.Emulator, db *pglocal.Server, d Description, initialImage string, lambdaLog io.Writer) (*Environment, error) {
	if lambdaLog == nil {
		lambdaLog = io.Discard
	}
	p := &provisioner{d: d, emu: emu, db: db, cfg: emu.AWSConfig(), lambdaLog: lambdaLog, env: &Environment{Description: d, TaskAssignPublicIP: "DISABLED"}}
	p.env.Repository = d.prefix() + "/api"
	steps := []struct {
		what string
		do   func(context.Context) error
	}{
		{"database", p.database},
		{"secrets", p.secrets},
		{"network", p.network},
		{"load balancer", p.loadBalancer},
		{"roles", p.roles},
		{"log group and repository", p.logsAndRepository},
		{"cluster, task definition and service", func(ctx context.Context) error { return p.service(ctx, initialImage) }},
		{"Lambdas and schedule", p.lambdas},
		{"CodeDeploy", p.codeDeploy},
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
			return fmt.Errorf("create the database and its admin role: %s", strings.SplitN(err.Error(), "'", 2)[0])
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

func (p *provisioner) network(ctx context.Context) error {
	c := ec2.NewFromConfig(p.cfg)
	vpc, err := c.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.10.0.0/16")})
	if err != nil {
		return err
	}
	p.env.VPC = aws.ToString(vpc.Vpc.VpcId)
	if _, err := c.ModifyVpcAttribute(ctx, &ec2.ModifyVpcAttributeInput{VpcId: vpc.Vpc.VpcId, EnableDnsHostnames: &ec2types.AttributeBooleanValue{Value: aws.Bool(true)}}); err != nil {
		return err
	}
	for i, az := range []string{"a", "b"} {
		sn, err := c.CreateSubnet(ctx, &ec2.CreateSubnetInput{
			VpcId: vpc.Vpc.VpcId, CidrBlock: aws.String(fmt.Sprintf("10.10.%d.0/24", i+1)), AvailabilityZone: aws.String(awsemu.DefaultRegion + az),
		})
		if err != nil {
			return err
		}
		p.env.Resources.TaskSubnets = append(p.env.Resources.TaskSubnets, aws.ToString(sn.Subnet.SubnetId))
	}
	for _, sg := range []struct {
		name string
		dst  *string
	}{{"lb", &p.lbSG}, {"tasks", nil}} {
		out, err := c.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{
			GroupName: aws.String(p.d.prefix() + "-" + sg.name), Description: aws.String(sg.name), VpcId: vpc.Vpc.VpcId,
		})
		if err != nil {
			return err
		}
		if sg.dst != nil {
			*sg.dst = aws.ToString(out.GroupId)
		} else {
			p.env.Resources.TaskSecurityGroups = []string{aws.ToString(out.GroupId)}
		}
	}
	return nil
}

func (p *provisioner) loadBalancer(ctx context.Context) error {
	c := elbv2.NewFromConfig(p.cfg)
	r := &p.env.Resources
	lb, err := c.CreateLoadBalancer(ctx, &elbv2.CreateLoadBalancerInput{
		Name: aws.String(p.d.prefix()), Subnets: r.TaskSubnets, SecurityGroups: []string{p.lbSG},
		Type: elbtypes.LoadBalancerTypeEnumApplication, Scheme: elbtypes.LoadBalancerSchemeEnumInternetFacing,
	})
	if err != nil {
		return err
	}
	p.lbARN = aws.ToString(lb.LoadBalancers[0].LoadBalancerArn)
	r.APIURL = "http://" + aws.ToString(lb.LoadBalancers[0].DNSName)
	for _, tg := range []struct {
		color string
		dst   *string
	}{{"blue", &r.TargetGroupBlue}, {"green", &r.TargetGroupGreen}} {
		out, err := c.CreateTargetGroup(ctx, &elbv2.CreateTargetGroupInput{
			Name: aws.String(p.d.prefix() + "-" + tg.color), Protocol: elbtypes.ProtocolEnumHttp, Port: aws.Int32(p.d.ContainerPort),
			VpcId: aws.String(p.env.VPC), TargetType: elbtypes.TargetTypeEnumIp,
			HealthCheckPath: aws.String("/status/"), Matcher: &elbtypes.Matcher{HttpCode: aws.String("200")},
		})
		if err != nil {
			return err
		}
		*tg.dst = aws.ToString(out.TargetGroups[0].TargetGroupArn)
	}
	for _, l := range []struct {
		port int32
		tg   string
		dst  *string
	}{{443, r.TargetGroupBlue, &r.ProdListenerARN}, {8443, r.TargetGroupGreen, &r.TestListenerARN}} {
		out, err := c.CreateListener(ctx, &elbv2.CreateListenerInput{
			LoadBalancerArn: aws.String(p.lbARN), Protocol: elbtypes.ProtocolEnumHttp, Port: aws.Int32(l.port),
			DefaultActions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: aws.String(l.tg)}},
		})
		if err != nil {
			return err
		}
		*l.dst = aws.ToString(out.Listeners[0].ListenerArn)
	}
	return nil
}

func (p *provisioner) roles(ctx context.Context) error {
	c := iam.NewFromConfig(p.cfg)
	for _, role := range []struct {
		suffix, principal string
		dst               *string
	}{
		{"ecs-execution", `{"Service":"ecs-tasks.amazonaws.com"}`, &p.executionRole},
		{"ecs-task", `{"Service":"ecs-tasks.amazonaws.com"}`, &p.taskRole},
		{"codedeploy", `{"Service":"codedeploy.amazonaws.com"}`, &p.cdRole},
		{"lambda", `{"Service":"lambda.amazonaws.com"}`, &p.lambdaRole},
		{"github-actions", fmt.Sprintf(`{"Federated":"arn:aws:iam::%s:oidc-provider/token.actions.githubusercontent.com"}`, awsemu.AccountID), &p.env.Resources.GitHubActionsRoleARN},
	} {
		action := "sts:AssumeRole"
		if strings.Contains(role.principal, "Federated") {
			action = "sts:AssumeRoleWithWebIdentity"
		}
		trust := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":%s,"Action":%q}]}`, role.principal, action)
		out, err := c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(p.d.prefix() + "-" + role.suffix), AssumeRolePolicyDocument: aws.String(trust)})
		if err != nil {
			return err
		}
		*role.dst = aws.ToString(out.Role.Arn)
	}
	return nil
}

func (p *provisioner) logsAndRepository(ctx context.Context) error {
	r := &p.env.Resources
	r.LogGroup = "/ecs/" + p.d.prefix() + "-api"
	if _, err := cloudwatchlogs.NewFromConfig(p.cfg).CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(r.LogGroup)}); err != nil {
		return err
	}
	repo, err := ecr.NewFromConfig(p.cfg).CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String(p.env.Repository)})
	if err != nil {
		return err
	}
	r.ECRRepositoryURL = aws.ToString(repo.Repository.RepositoryUri)
	return nil
}

// service registers the API task definition (configuration as environment, passwords
// as secrets) and the CODE_DEPLOY service.
func (p *provisioner) service(ctx context.Context, image string) error {
	c := ecs.NewFromConfig(p.cfg)
	r := &p.env.Resources
	r.Cluster, r.Service, r.TaskFamily = p.d.prefix(), p.d.prefix()+"-api", p.d.prefix()+"-api"
	r.ContainerName, r.ContainerPort = p.d.ContainerName, p.d.ContainerPort
	if _, err := c.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String(r.Cluster)}); err != nil {
		return err
	}
	kv := func(k, v string) ecstypes.KeyValuePair {
		return ecstypes.KeyValuePair{Name: aws.String(k), Value: aws.String(v)}
	}
	secret := func(k, from string) ecstypes.Secret {
		return ecstypes.Secret{Name: aws.String(k), ValueFrom: aws.String(from)}
	}
	td, err := c.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		Family: aws.String(r.TaskFamily), NetworkMode: ecstypes.NetworkModeAwsvpc,
		RequiresCompatibilities: []ecstypes.Compatibility{ecstypes.CompatibilityFargate},
		Cpu:                     aws.String("256"), Memory: aws.String("512"),
		ExecutionRoleArn: aws.String(p.executionRole), TaskRoleArn: aws.String(p.taskRole),
		ContainerDefinitions: []ecstypes.ContainerDefinition{{
			Name: aws.String(r.ContainerName), Image: aws.String(image), Essential: aws.Bool(true),
			Memory:       aws.Int32(512), // the emulation's RunTask wants container-level memory
			Command:      []string{"server"},
			PortMappings: []ecstypes.PortMapping{{ContainerPort: aws.Int32(r.ContainerPort), Protocol: ecstypes.TransportProtocolTcp}},
			Environment: []ecstypes.KeyValuePair{
				kv("DJANGO_DB_HOST", p.db.Host), kv("DJANGO_DB_PORT", strconv.Itoa(p.db.Port)), kv("DJANGO_DB_NAME", p.d.DBName),
				kv("DJANGO_DB_USER", p.d.DBAppUser), kv("DATABASE_ADMIN_USER", p.d.DBAdminUser), kv("ADMIN_EMAIL", p.d.AdminEmail),
			},
			Secrets: []ecstypes.Secret{
				secret("DJANGO_DB_PASSWORD", r.DBAppSecretARN+":password::"),
				secret("DATABASE_ADMIN_PASSWORD", r.DBAdminSecretARN+":password::"),
				secret("ADMIN_PASSWORD", p.adminUserParam),
			},
			LogConfiguration: &ecstypes.LogConfiguration{LogDriver: ecstypes.LogDriverAwslogs, Options: map[string]string{
				"awslogs-group": r.LogGroup, "awslogs-region": awsemu.DefaultRegion, "awslogs-stream-prefix": "api",
			}},
		}},
	})
	if err != nil {
		return err
	}
	_, err = c.CreateService(ctx, &ecs.CreateServiceInput{
		Cluster: aws.String(r.Cluster), ServiceName: aws.String(r.Service), TaskDefinition: td.TaskDefinition.TaskDefinitionArn,
		DesiredCount: aws.Int32(1), LaunchType: ecstypes.LaunchTypeFargate,
		DeploymentController: &ecstypes.DeploymentController{Type: ecstypes.DeploymentControllerTypeCodeDeploy},
		LoadBalancers:        []ecstypes.LoadBalancer{{TargetGroupArn: aws.String(r.TargetGroupBlue), ContainerName: aws.String(r.ContainerName), ContainerPort: aws.Int32(r.ContainerPort)}},
		NetworkConfiguration: &ecstypes.NetworkConfiguration{AwsvpcConfiguration: &ecstypes.AwsVpcConfiguration{
			Subnets: r.TaskSubnets, SecurityGroups: r.TaskSecurityGroups, AssignPublicIp: ecstypes.AssignPublicIpDisabled,
		}},
	})
	return err
}

// lambdas creates the migration hook and the background jobs functions, registers the
// product's handlers for them with the emulation, and schedules the jobs.
func (p *provisioner) lambdas(ctx context.Context) error {
	c := awslambda.NewFromConfig(p.cfg)
	r := &p.env.Resources
	r.MigrateFunction, r.JobsFunction, r.MigrationHookEvent = p.d.prefix()+"-migrate", p.d.prefix()+"-jobs", p.d.HookEvent
	migrateEnv := envfixture.MigrateEnv(r)
	jobsEnv := envfixture.MigrateEnv(r)
	jobsEnv["SERVICE"] = r.Service
	code, err := bootstrapZip()
	if err != nil {
		return err
	}
	var jobsARN string
	for _, fn := range []struct {
		name    string
		env     map[string]string
		factory awsemu.LambdaFactory
		arn     *string
	}{
		{r.MigrateFunction, migrateEnv, p.migrateHandler, nil},
		{r.JobsFunction, jobsEnv, p.jobsHandler, &jobsARN},
	} {
		out, err := c.CreateFunction(ctx, &awslambda.CreateFunctionInput{
			FunctionName: aws.String(fn.name), Role: aws.String(p.lambdaRole), Runtime: lambdatypes.RuntimeProvidedal2023,
			Handler: aws.String("bootstrap"), Code: &lambdatypes.FunctionCode{ZipFile: code}, Timeout: aws.Int32(900),
			Environment: &lambdatypes.Environment{Variables: fn.env},
		})
		if err != nil {
			return err
		}
		if fn.arn != nil {
			*fn.arn = aws.ToString(out.FunctionArn)
		}
		p.emu.RegisterLambda(fn.name, fn.factory)
	}
	eb := eventbridge.NewFromConfig(p.cfg)
	r.JobsScheduleRule = p.d.prefix() + "-jobs"
	if _, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String(r.JobsScheduleRule), ScheduleExpression: aws.String("rate(15 minutes)")}); err != nil {
		return err
	}
	_, err = eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String(r.JobsScheduleRule), Targets: []ebtypes.Target{{Id: aws.String("jobs"), Arn: aws.String(jobsARN)}}})
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

// bootstrapZip is a function package for CreateFunction; the emulation runs the
// registered handler instead.
func bootstrapZip() ([]byte, error) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.Create("bootstrap")
	if err != nil {
		return nil, err
	}
	if _, err := w.Write([]byte("#!/bin/sh\nexit 0\n")); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func (p *provisioner) codeDeploy(ctx context.Context) error {
	c := codedeploy.NewFromConfig(p.cfg)
	r := &p.env.Resources
	r.CodeDeployApp, r.CodeDeployGroup = p.d.prefix()+"-api", p.d.prefix()+"-api"
	if _, err := c.CreateApplication(ctx, &codedeploy.CreateApplicationInput{ApplicationName: aws.String(r.CodeDeployApp), ComputePlatform: cdtypes.ComputePlatformEcs}); err != nil {
		return err
	}
	_, err := c.CreateDeploymentGroup(ctx, &codedeploy.CreateDeploymentGroupInput{
		ApplicationName: aws.String(r.CodeDeployApp), DeploymentGroupName: aws.String(r.CodeDeployGroup),
		ServiceRoleArn: aws.String(p.cdRole), DeploymentConfigName: aws.String("CodeDeployDefault.ECSAllAtOnce"),
		DeploymentStyle: &cdtypes.DeploymentStyle{DeploymentType: cdtypes.DeploymentTypeBlueGreen, DeploymentOption: cdtypes.DeploymentOptionWithTrafficControl},
		BlueGreenDeploymentConfiguration: &cdtypes.BlueGreenDeploymentConfiguration{
			DeploymentReadyOption:                     &cdtypes.DeploymentReadyOption{ActionOnTimeout: cdtypes.DeploymentReadyActionContinueDeployment},
			TerminateBlueInstancesOnDeploymentSuccess: &cdtypes.BlueInstanceTerminationOption{Action: cdtypes.InstanceActionTerminate},
		},
		AutoRollbackConfiguration: &cdtypes.AutoRollbackConfiguration{Enabled: true, Events: []cdtypes.AutoRollbackEvent{
			cdtypes.AutoRollbackEventDeploymentFailure, cdtypes.AutoRollbackEventDeploymentStopOnRequest,
		}},
		EcsServices: []cdtypes.ECSService{{ClusterName: aws.String(r.Cluster), ServiceName: aws.String(r.Service)}},
		LoadBalancerInfo: &cdtypes.LoadBalancerInfo{TargetGroupPairInfoList: []cdtypes.TargetGroupPairInfo{{
			TargetGroups:     []cdtypes.TargetGroupInfo{{Name: aws.String(p.d.prefix() + "-blue")}, {Name: aws.String(p.d.prefix() + "-green")}},
			ProdTrafficRoute: &cdtypes.TrafficRoute{ListenerArns: []string{r.ProdListenerARN}},
			TestTrafficRoute: &cdtypes.TrafficRoute{ListenerArns: []string{r.TestListenerARN}},
		}}},
	})
	return err
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
