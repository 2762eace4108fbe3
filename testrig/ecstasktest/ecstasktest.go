// Package ecstasktest sets up, on the local AWS emulation, what a one-off Fargate task
// needs: a VPC subnet and security group, a cluster, a log group, a secret in SSM and a
// task definition whose container logs with awslogs and reads the secret.
package ecstasktest

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
)

// Container is the name of the fixture's only container.
const Container = "api"

// Fixture names the resources one test uses.
type Fixture struct {
	Name           string // unique; also the cluster name and task family
	Cluster        string
	Subnets        []string
	SecurityGroups []string
	LogGroup       string
	StreamPrefix   string
	SecretName     string // environment variable the secret reaches the container as
	SecretValue    string
	TaskDefinition string // ARN of revision 1

	cfg aws.Config
}

// New creates the fixture's resources under the unique name.
func New(t testing.TB, cfg aws.Config, name string) *Fixture {
	t.Helper()
	ctx := t.Context()
	f := &Fixture{Name: name, LogGroup: "/ecs/" + name, StreamPrefix: "km", SecretName: "DATABASE_ADMIN_PASSWORD",
		SecretValue: "pw-" + name + "-do-not-leak", cfg: cfg}
	ec2c := ec2.NewFromConfig(cfg)
	vpc, err := ec2c.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.0.0.0/16")})
	if err != nil {
		t.Fatalf("CreateVpc: %v", err)
	}
	// moto starts awsvpc services only in a VPC with DNS hostnames, as ECS needs them.
	if _, err := ec2c.ModifyVpcAttribute(ctx, &ec2.ModifyVpcAttributeInput{VpcId: vpc.Vpc.VpcId, EnableDnsHostnames: &ec2types.AttributeBooleanValue{Value: aws.Bool(true)}}); err != nil {
		t.Fatalf("ModifyVpcAttribute: %v", err)
	}
	sub, err := ec2c.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: vpc.Vpc.VpcId, CidrBlock: aws.String("10.0.1.0/24")})
	if err != nil {
		t.Fatalf("CreateSubnet: %v", err)
	}
	sg, err := ec2c.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String(name), Description: aws.String("tasks"), VpcId: vpc.Vpc.VpcId})
	if err != nil {
		t.Fatalf("CreateSecurityGroup: %v", err)
	}
	f.Subnets, f.SecurityGroups = []string{aws.ToString(sub.Subnet.SubnetId)}, []string{aws.ToString(sg.GroupId)}

	ecsc := ecs.NewFromConfig(cfg)
	if _, err := ecsc.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String(name)}); err != nil {
		t.Fatalf("CreateCluster: %v", err)
	}
	f.Cluster = name
	if _, err := cloudwatchlogs.NewFromConfig(cfg).CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(f.LogGroup)}); err != nil {
		t.Fatalf("CreateLogGroup: %v", err)
	}
	if _, err := ssm.NewFromConfig(cfg).PutParameter(ctx, &ssm.PutParameterInput{
		Name: aws.String("/" + name + "/db-admin-password"), Value: aws.String(f.SecretValue), Type: ssmtypes.ParameterTypeSecureString,
	}); err != nil {
		t.Fatalf("PutParameter: %v", err)
	}
	f.TaskDefinition = f.Register(t, "example/api:1")
	return f
}

// Register registers a new revision of the fixture's task definition with image and
// returns its ARN.
func (f *Fixture) Register(t testing.TB, image string) string {
	t.Helper()
	td, err := ecs.NewFromConfig(f.cfg).RegisterTaskDefinition(t.Context(), &ecs.RegisterTaskDefinitionInput{
		Family:                  aws.String(f.Name),
		NetworkMode:             types.NetworkModeAwsvpc,
		RequiresCompatibilities: []types.Compatibility{types.CompatibilityFargate},
		Cpu:                     aws.String("256"),
		Memory:                  aws.String("512"),
		ContainerDefinitions: []types.ContainerDefinition{{
			Name:              aws.String(Container),
			Image:             aws.String(image),
			Essential:         aws.Bool(true),
			Command:           []string{"server"},
			MemoryReservation: aws.Int32(256),
			PortMappings:      []types.PortMapping{{ContainerPort: aws.Int32(8000)}},
			Secrets: []types.Secret{{Name: aws.String(f.SecretName),
				ValueFrom: aws.String("arn:aws:ssm:us-east-1:123456789012:parameter/" + f.Name + "/db-admin-password")}},
			LogConfiguration: &types.LogConfiguration{LogDriver: types.LogDriverAwslogs, Options: map[string]string{
				"awslogs-group": f.LogGroup, "awslogs-region": "us-east-1", "awslogs-stream-prefix": f.StreamPrefix,
			}},
		}},
	})
	if err != nil {
		t.Fatalf("RegisterTaskDefinition: %v", err)
	}
	return aws.ToString(td.TaskDefinition.TaskDefinitionArn)
}

// Env is the task configuration of the project's Lambdas for this fixture.
func (f *Fixture) Env() map[string]string {
	return map[string]string{
		"CLUSTER":         f.Cluster,
		"SUBNETS":         f.Subnets[0],
		"SECURITY_GROUPS": f.SecurityGroups[0],
		"CONTAINER_NAME":  Container,
		"POLL_INTERVAL":   "20ms",
		"DEADLINE_MARGIN": "500ms",
	}
}
