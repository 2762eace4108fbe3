package awsemu_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/knowmetools/km-release/testrig/awsemu/emutest"
)

// Terraform's aws_vpc_security_group_ingress_rule and _egress_rule read rules with
// DescribeSecurityGroupRules, description included.
func TestSecurityGroupRulesReferencingAGroupKeepTheirDescription(t *testing.T) {
	emu := emutest.Start(t)
	ctx := t.Context()
	name := emutest.UniqueName(t)
	ec2c := ec2.NewFromConfig(emu.AWSConfig())
	vpc, err := ec2c.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.1.0.0/16")})
	check(t, "CreateVpc", err)
	group := func(suffix string) string {
		sg, err := ec2c.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{VpcId: vpc.Vpc.VpcId, GroupName: aws.String(name + suffix), Description: aws.String(suffix)})
		check(t, "CreateSecurityGroup", err)
		return aws.ToString(sg.GroupId)
	}
	db, tasks := group("-db"), group("-tasks")
	_, err = ec2c.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(db), IpPermissions: []ec2types.IpPermission{{
		IpProtocol: aws.String("tcp"), FromPort: aws.Int32(5432), ToPort: aws.Int32(5432),
		UserIdGroupPairs: []ec2types.UserIdGroupPair{{GroupId: aws.String(tasks), Description: aws.String("PostgreSQL from tasks")}},
	}}})
	check(t, "AuthorizeSecurityGroupIngress", err)
	_, err = ec2c.AuthorizeSecurityGroupEgress(ctx, &ec2.AuthorizeSecurityGroupEgressInput{GroupId: aws.String(tasks), IpPermissions: []ec2types.IpPermission{{
		IpProtocol: aws.String("tcp"), FromPort: aws.Int32(5432), ToPort: aws.Int32(5432),
		UserIdGroupPairs: []ec2types.UserIdGroupPair{{GroupId: aws.String(db), Description: aws.String("to the database")}},
	}}})
	check(t, "AuthorizeSecurityGroupEgress", err)

	out, err := ec2c.DescribeSecurityGroupRules(ctx, &ec2.DescribeSecurityGroupRulesInput{
		Filters: []ec2types.Filter{{Name: aws.String("group-id"), Values: []string{db, tasks}}},
	})
	check(t, "DescribeSecurityGroupRules", err)
	got := map[string]string{}
	for _, r := range out.SecurityGroupRules {
		if r.ReferencedGroupInfo != nil {
			got[aws.ToString(r.GroupId)+"->"+aws.ToString(r.ReferencedGroupInfo.GroupId)] = aws.ToString(r.Description)
		}
	}
	want := map[string]string{db + "->" + tasks: "PostgreSQL from tasks", tasks + "->" + db: "to the database"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("rule %s: description %q, want %q (all: %v)", k, got[k], v, got)
		}
	}
}
