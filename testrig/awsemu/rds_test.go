package awsemu_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	rdstypes "github.com/aws/aws-sdk-go-v2/service/rds/types"

	"github.com/knowmetools/km-release/testrig/awsemu/emutest"
)

// Terraform's aws_db_parameter_group keeps the parameters whose Source is user.
func TestDBParametersSetByTheUserSaySo(t *testing.T) {
	emu := emutest.Start(t)
	ctx := t.Context()
	name := emutest.UniqueName(t)
	c := rds.NewFromConfig(emu.AWSConfig())
	_, err := c.CreateDBParameterGroup(ctx, &rds.CreateDBParameterGroupInput{
		DBParameterGroupName: aws.String(name), DBParameterGroupFamily: aws.String("postgres16"), Description: aws.String("test"),
	})
	check(t, "CreateDBParameterGroup", err)
	_, err = c.ModifyDBParameterGroup(ctx, &rds.ModifyDBParameterGroupInput{DBParameterGroupName: aws.String(name), Parameters: []rdstypes.Parameter{{
		ParameterName: aws.String("rds.force_ssl"), ParameterValue: aws.String("1"), ApplyMethod: rdstypes.ApplyMethodImmediate,
	}}})
	check(t, "ModifyDBParameterGroup", err)

	for _, source := range []*string{nil, aws.String("user")} {
		out, err := c.DescribeDBParameters(ctx, &rds.DescribeDBParametersInput{DBParameterGroupName: aws.String(name), Source: source})
		check(t, "DescribeDBParameters", err)
		if len(out.Parameters) != 1 || aws.ToString(out.Parameters[0].ParameterName) != "rds.force_ssl" || aws.ToString(out.Parameters[0].Source) != "user" {
			t.Errorf("DescribeDBParameters(Source=%q) = %+v, want rds.force_ssl with Source user", aws.ToString(source), out.Parameters)
		}
	}
	out, err := c.DescribeDBParameters(ctx, &rds.DescribeDBParametersInput{DBParameterGroupName: aws.String(name), Source: aws.String("engine-default")})
	check(t, "DescribeDBParameters", err)
	if len(out.Parameters) != 0 {
		t.Errorf("DescribeDBParameters(Source=engine-default) = %+v, want none: the user set them", out.Parameters)
	}
}

// Two environments' databases in one account: each has its own DbiResourceId (moto
// gives all the same), and the Terraform provider finds each by it.
func TestDBInstancesHaveTheirOwnResourceIDs(t *testing.T) {
	emu := emutest.Start(t)
	ctx := t.Context()
	name := emutest.UniqueName(t)
	c := rds.NewFromConfig(emu.AWSConfig())
	ids := map[string]string{}
	for _, env := range []string{"staging", "production"} {
		out, err := c.CreateDBInstance(ctx, &rds.CreateDBInstanceInput{
			DBInstanceIdentifier: aws.String(name + "-" + env), Engine: aws.String("postgres"), DBInstanceClass: aws.String("db.t4g.micro"),
			AllocatedStorage: aws.Int32(20), MasterUsername: aws.String("admin1"), MasterUserPassword: aws.String("password-password"),
		})
		check(t, "CreateDBInstance", err)
		ids[aws.ToString(out.DBInstance.DbiResourceId)] = name + "-" + env
	}
	if len(ids) != 2 {
		t.Fatalf("DbiResourceIds %v: want one per instance", ids)
	}
	for id, identifier := range ids {
		out, err := c.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{Filters: []rdstypes.Filter{{Name: aws.String("dbi-resource-id"), Values: []string{id}}}})
		check(t, "DescribeDBInstances", err)
		if len(out.DBInstances) != 1 || aws.ToString(out.DBInstances[0].DBInstanceIdentifier) != identifier || aws.ToString(out.DBInstances[0].DbiResourceId) != id {
			t.Errorf("instances with dbi-resource-id %s: %d, want only %s", id, len(out.DBInstances), identifier)
		}
	}
}
