package awsemu_test

import (
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront"
	cftypes "github.com/aws/aws-sdk-go-v2/service/cloudfront/types"

	"github.com/knowmetools/km-release/testrig/awsemu"
	"github.com/knowmetools/km-release/testrig/awsemu/emutest"
)

func TestCloudFrontInvalidationCompletedWaiterEnds(t *testing.T) {
	emu := emutest.Start(t)
	ctx := t.Context()
	name := emutest.UniqueName(t)
	cf := cloudfront.NewFromConfig(emu.AWSConfig())
	dist, err := cf.CreateDistribution(ctx, &cloudfront.CreateDistributionInput{DistributionConfig: &cftypes.DistributionConfig{
		CallerReference: aws.String(name), Comment: aws.String("web"), Enabled: aws.Bool(true),
		Origins: &cftypes.Origins{Quantity: aws.Int32(1), Items: []cftypes.Origin{{
			Id: aws.String("s3"), DomainName: aws.String(name + ".s3.amazonaws.com"),
			S3OriginConfig: &cftypes.S3OriginConfig{OriginAccessIdentity: aws.String("")},
		}}},
		DefaultCacheBehavior: &cftypes.DefaultCacheBehavior{TargetOriginId: aws.String("s3"), ViewerProtocolPolicy: cftypes.ViewerProtocolPolicyRedirectToHttps},
	}})
	if err != nil {
		t.Fatalf("CreateDistribution: %v", err)
	}
	id := dist.Distribution.Id
	inv, err := cf.CreateInvalidation(ctx, &cloudfront.CreateInvalidationInput{DistributionId: id, InvalidationBatch: &cftypes.InvalidationBatch{
		CallerReference: aws.String(name), Paths: &cftypes.Paths{Quantity: aws.Int32(1), Items: []string{"/*"}},
	}})
	if err != nil {
		t.Fatalf("CreateInvalidation: %v", err)
	}
	w := cloudfront.NewInvalidationCompletedWaiter(cf, func(o *cloudfront.InvalidationCompletedWaiterOptions) {
		o.MinDelay, o.MaxDelay = 100*time.Millisecond, time.Second
	})
	if err := w.Wait(ctx, &cloudfront.GetInvalidationInput{DistributionId: id, Id: inv.Invalidation.Id}, 30*time.Second); err != nil {
		t.Fatalf("InvalidationCompleted waiter: %v", err)
	}
	list, err := cf.ListInvalidations(ctx, &cloudfront.ListInvalidationsInput{DistributionId: id})
	if err != nil || len(list.InvalidationList.Items) != 1 || aws.ToString(list.InvalidationList.Items[0].Status) != "Completed" {
		t.Errorf("ListInvalidations = %+v, %v; want one Completed", list.InvalidationList, err)
	}
}

func TestCloudFrontManagedPolicies(t *testing.T) {
	emu := emutest.Start(t)
	ctx := t.Context()
	cf := cloudfront.NewFromConfig(emu.AWSConfig())

	// Terraform's data sources find a managed policy by name in the list, then get it by ID.
	list, err := cf.ListCachePolicies(ctx, &cloudfront.ListCachePoliciesInput{})
	if err != nil {
		t.Fatalf("ListCachePolicies: %v", err)
	}
	ids := map[string]string{}
	for _, s := range list.CachePolicyList.Items {
		ids[aws.ToString(s.CachePolicy.CachePolicyConfig.Name)] = aws.ToString(s.CachePolicy.Id)
		if s.Type != cftypes.CachePolicyTypeManaged {
			t.Errorf("%s: type %q, want managed", aws.ToString(s.CachePolicy.CachePolicyConfig.Name), s.Type)
		}
	}
	if ids["Managed-CachingOptimized"] != "658327ea-f89d-4fab-a63d-7e88639e58f6" || ids["Managed-CachingDisabled"] != "4135ea2d-6df8-44a3-9df3-4b5a84be39ad" {
		t.Fatalf("managed cache policies by name = %v", ids)
	}
	got, err := cf.GetCachePolicy(ctx, &cloudfront.GetCachePolicyInput{Id: aws.String(ids["Managed-CachingOptimized"])})
	if err != nil {
		t.Fatalf("GetCachePolicy: %v", err)
	}
	c := got.CachePolicy.CachePolicyConfig
	p := c.ParametersInCacheKeyAndForwardedToOrigin
	if aws.ToInt64(c.MinTTL) != 1 || aws.ToInt64(c.DefaultTTL) != 86400 || aws.ToInt64(c.MaxTTL) != 31536000 ||
		!aws.ToBool(p.EnableAcceptEncodingGzip) || !aws.ToBool(p.EnableAcceptEncodingBrotli) ||
		p.HeadersConfig.HeaderBehavior != cftypes.CachePolicyHeaderBehaviorNone ||
		p.CookiesConfig.CookieBehavior != cftypes.CachePolicyCookieBehaviorNone ||
		p.QueryStringsConfig.QueryStringBehavior != cftypes.CachePolicyQueryStringBehaviorNone || aws.ToString(got.ETag) == "" {
		t.Errorf("Managed-CachingOptimized = %+v, parameters %+v, ETag %q", c, p, aws.ToString(got.ETag))
	}
	if custom, err := cf.ListCachePolicies(ctx, &cloudfront.ListCachePoliciesInput{Type: cftypes.CachePolicyTypeCustom}); err != nil || len(custom.CachePolicyList.Items) != 0 {
		t.Errorf("custom cache policies = %+v, %v; want none", custom, err)
	}
	var notFound *cftypes.NoSuchCachePolicy
	if _, err := cf.GetCachePolicy(ctx, &cloudfront.GetCachePolicyInput{Id: aws.String("00000000-0000-0000-0000-000000000000")}); !errors.As(err, &notFound) {
		t.Errorf("GetCachePolicy of an unknown ID: %v, want NoSuchCachePolicy", err)
	}

	headers, err := cf.ListResponseHeadersPolicies(ctx, &cloudfront.ListResponseHeadersPoliciesInput{Type: cftypes.ResponseHeadersPolicyTypeManaged})
	if err != nil || len(headers.ResponseHeadersPolicyList.Items) == 0 {
		t.Fatalf("ListResponseHeadersPolicies: %+v, %v", headers, err)
	}
	security := headers.ResponseHeadersPolicyList.Items[0].ResponseHeadersPolicy
	if aws.ToString(security.ResponseHeadersPolicyConfig.Name) != "Managed-SecurityHeadersPolicy" {
		t.Fatalf("managed response headers policy %q", aws.ToString(security.ResponseHeadersPolicyConfig.Name))
	}
	rh, err := cf.GetResponseHeadersPolicy(ctx, &cloudfront.GetResponseHeadersPolicyInput{Id: security.Id})
	if err != nil {
		t.Fatalf("GetResponseHeadersPolicy: %v", err)
	}
	s := rh.ResponseHeadersPolicy.ResponseHeadersPolicyConfig.SecurityHeadersConfig
	if aws.ToString(security.Id) != "67f7725c-6f97-4210-82d7-5512b31e9d03" ||
		aws.ToInt32(s.StrictTransportSecurity.AccessControlMaxAgeSec) != 31536000 ||
		s.FrameOptions.FrameOption != cftypes.FrameOptionsListSameorigin ||
		s.ReferrerPolicy.ReferrerPolicy != cftypes.ReferrerPolicyListStrictOriginWhenCrossOrigin ||
		s.ContentTypeOptions == nil || !aws.ToBool(s.XSSProtection.Protection) || !aws.ToBool(s.XSSProtection.ModeBlock) {
		t.Errorf("Managed-SecurityHeadersPolicy %s = %+v", aws.ToString(security.Id), s)
	}
}

// What Terraform's aws_cloudfront_distribution reads back must be what it created, or
// every plan wants to change it.
func TestCloudFrontDistributionReadsBackAsCreated(t *testing.T) {
	emu := emutest.Start(t)
	ctx := t.Context()
	name := emutest.UniqueName(t)
	cf := cloudfront.NewFromConfig(emu.AWSConfig())
	oac, err := cf.CreateOriginAccessControl(ctx, &cloudfront.CreateOriginAccessControlInput{OriginAccessControlConfig: &cftypes.OriginAccessControlConfig{
		Name: aws.String(name), OriginAccessControlOriginType: cftypes.OriginAccessControlOriginTypesS3,
		SigningBehavior: cftypes.OriginAccessControlSigningBehaviorsAlways, SigningProtocol: cftypes.OriginAccessControlSigningProtocolsSigv4,
	}})
	if err != nil {
		t.Fatalf("CreateOriginAccessControl: %v", err)
	}
	oacID := oac.OriginAccessControl.Id
	cert := "arn:aws:acm:us-east-1:" + awsemu.AccountID + ":certificate/" + name
	created, err := cf.CreateDistributionWithTags(ctx, &cloudfront.CreateDistributionWithTagsInput{DistributionConfigWithTags: &cftypes.DistributionConfigWithTags{
		Tags: &cftypes.Tags{Items: []cftypes.Tag{{Key: aws.String("Environment"), Value: aws.String("test")}}},
		DistributionConfig: &cftypes.DistributionConfig{
			CallerReference: aws.String(name), Comment: aws.String("web"), Enabled: aws.Bool(true),
			Origins: &cftypes.Origins{Quantity: aws.Int32(1), Items: []cftypes.Origin{{
				Id: aws.String("s3"), DomainName: aws.String(name + ".s3.us-east-1.amazonaws.com"),
				OriginAccessControlId: oacID, S3OriginConfig: &cftypes.S3OriginConfig{OriginAccessIdentity: aws.String("")},
			}}},
			DefaultCacheBehavior: &cftypes.DefaultCacheBehavior{
				TargetOriginId: aws.String("s3"), ViewerProtocolPolicy: cftypes.ViewerProtocolPolicyRedirectToHttps,
				CachePolicyId: aws.String("658327ea-f89d-4fab-a63d-7e88639e58f6"),
			},
			ViewerCertificate: &cftypes.ViewerCertificate{ACMCertificateArn: aws.String(cert), SSLSupportMethod: cftypes.SSLSupportMethodSniOnly},
		},
	}})
	if err != nil {
		t.Fatalf("CreateDistributionWithTags: %v", err)
	}
	id := aws.ToString(created.Distribution.Id)
	wantARN := "arn:aws:cloudfront::" + awsemu.AccountID + ":distribution/" + id
	got, err := cf.GetDistribution(ctx, &cloudfront.GetDistributionInput{Id: aws.String(id)})
	if err != nil {
		t.Fatalf("GetDistribution: %v", err)
	}
	for what, d := range map[string]*cftypes.Distribution{"CreateDistributionWithTags": created.Distribution, "GetDistribution": got.Distribution} {
		cfg := d.DistributionConfig
		if arn := aws.ToString(d.ARN); arn != wantARN {
			t.Errorf("%s: ARN %s, want %s", what, arn, wantARN)
		}
		if o := aws.ToString(cfg.Origins.Items[0].OriginAccessControlId); o != aws.ToString(oacID) {
			t.Errorf("%s: origin's OriginAccessControlId %q, want %q", what, o, aws.ToString(oacID))
		}
		if fv := cfg.DefaultCacheBehavior.ForwardedValues; fv != nil {
			t.Errorf("%s: ForwardedValues %+v beside a cache policy, want none", what, fv)
		}
		if vc := cfg.ViewerCertificate; aws.ToBool(vc.CloudFrontDefaultCertificate) || aws.ToString(vc.ACMCertificateArn) != cert {
			t.Errorf("%s: viewer certificate default %v, ACM %q; want false, %q", what, aws.ToBool(vc.CloudFrontDefaultCertificate), aws.ToString(vc.ACMCertificateArn), cert)
		}
	}
	cfgOut, err := cf.GetDistributionConfig(ctx, &cloudfront.GetDistributionConfigInput{Id: aws.String(id)})
	if err != nil || aws.ToString(cfgOut.DistributionConfig.Origins.Items[0].OriginAccessControlId) != aws.ToString(oacID) {
		t.Errorf("GetDistributionConfig: %v; origin's OriginAccessControlId lost", err)
	}

	// Tagging takes AWS's ARN.
	if _, err := cf.TagResource(ctx, &cloudfront.TagResourceInput{Resource: aws.String(wantARN),
		Tags: &cftypes.Tags{Items: []cftypes.Tag{{Key: aws.String("Team"), Value: aws.String("web")}}}}); err != nil {
		t.Fatalf("TagResource: %v", err)
	}
	tags, err := cf.ListTagsForResource(ctx, &cloudfront.ListTagsForResourceInput{Resource: aws.String(wantARN)})
	if err != nil {
		t.Fatalf("ListTagsForResource: %v", err)
	}
	gotTags := map[string]string{}
	for _, tag := range tags.Tags.Items {
		gotTags[aws.ToString(tag.Key)] = aws.ToString(tag.Value)
	}
	if len(gotTags) != 2 || gotTags["Environment"] != "test" || gotTags["Team"] != "web" {
		t.Errorf("tags = %v, want Environment=test and Team=web", gotTags)
	}
}
