package awsemu_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/acm"
	acmtypes "github.com/aws/aws-sdk-go-v2/service/acm/types"

	"github.com/knowmetools/km-release/testrig/awsemu/emutest"
)

// Terraform's aws_acm_certificate_validation waits for ISSUED; moto would take 60 s.
func TestACMCertificateValidatedByDNSIsIssuedAtOnce(t *testing.T) {
	emu := emutest.Start(t)
	ctx := t.Context()
	c := acm.NewFromConfig(emu.AWSConfig())
	req, err := c.RequestCertificate(ctx, &acm.RequestCertificateInput{
		DomainName: aws.String(emutest.UniqueName(t) + ".example.test"), ValidationMethod: acmtypes.ValidationMethodDns,
	})
	check(t, "RequestCertificate", err)
	out, err := c.DescribeCertificate(ctx, &acm.DescribeCertificateInput{CertificateArn: req.CertificateArn})
	check(t, "DescribeCertificate", err)
	if out.Certificate.Status != acmtypes.CertificateStatusIssued {
		t.Errorf("status %q right after the request, want ISSUED", out.Certificate.Status)
	}
}
