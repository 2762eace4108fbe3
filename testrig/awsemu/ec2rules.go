package awsemu

import (
	"net/http"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// fixSecurityGroupRules adds the description of rules that reference another security
// group to DescribeSecurityGroupRules: moto keeps it (DescribeSecurityGroups shows it
// in the rule's group pair) but writes a rule's description only for CIDR rules.
func (e *Emulator) fixSecurityGroupRules(resp *http.Response) error {
	return editXML(resp, func(doc *xmlNode) error {
		set := doc.path("securityGroupRuleSet")
		if set == nil {
			return nil
		}
		var rules []*xmlNode
		groups := map[string]bool{}
		for i := range set.Children {
			rule := &set.Children[i]
			if rule.path("referencedGroupInfo") != nil && rule.text("description") == "" {
				rules = append(rules, rule)
				groups[rule.text("groupId")] = true
			}
		}
		if len(rules) == 0 {
			return nil
		}
		ids := make([]string, 0, len(groups))
		for id := range groups {
			ids = append(ids, id)
		}
		out, err := ec2.NewFromConfig(e.backend).DescribeSecurityGroups(resp.Request.Context(), &ec2.DescribeSecurityGroupsInput{GroupIds: ids})
		if err != nil {
			e.opts.Logf("awsemu: DescribeSecurityGroupRules: descriptions left out: %v", err)
			return nil
		}
		for _, rule := range rules {
			if d := pairDescription(out.SecurityGroups, rule); d != "" {
				rule.set("description", d)
			}
		}
		return nil
	})
}

// pairDescription finds the description of the group pair a rule stands for.
func pairDescription(groups []ec2types.SecurityGroup, rule *xmlNode) string {
	for _, g := range groups {
		if aws.ToString(g.GroupId) != rule.text("groupId") {
			continue
		}
		perms := g.IpPermissions
		if rule.text("isEgress") == "true" {
			perms = g.IpPermissionsEgress
		}
		for _, p := range perms {
			if aws.ToString(p.IpProtocol) != rule.text("ipProtocol") ||
				portText(p.FromPort) != rule.text("fromPort") || portText(p.ToPort) != rule.text("toPort") {
				continue
			}
			for _, pair := range p.UserIdGroupPairs {
				if aws.ToString(pair.GroupId) == rule.text("referencedGroupInfo", "groupId") {
					return aws.ToString(pair.Description)
				}
			}
		}
	}
	return ""
}

func portText(p *int32) string {
	if p == nil {
		return ""
	}
	return strconv.Itoa(int(*p))
}
