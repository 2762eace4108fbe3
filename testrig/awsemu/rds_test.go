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
