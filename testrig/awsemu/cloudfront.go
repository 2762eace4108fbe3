package awsemu

import (
	"bytes"
	"net/http"
	"regexp"
	"sync"
)

// cloudFront corrects moto's CloudFront distributions, so that what Terraform reads
// back is what it created:
//   - the ARN: moto writes arn:aws:cloudfront:ACCOUNT:distribution/ID, AWS
//     arn:aws:cloudfront::ACCOUNT:distribution/ID (CloudFront is global: no region);
//     tagging calls with AWS's form are translated back to moto's;
//   - origins keep their OriginAccessControlId, which moto drops (kept here);
//   - a cache behavior with a cache policy has no ForwardedValues (moto adds defaults);
//   - a viewer certificate from ACM or IAM is not CloudFront's default certificate
//     (moto says it is whenever CloudFrontDefaultCertificate was not sent).
type cloudFront struct {
	mu sync.Mutex
	// oac is each origin's OriginAccessControlId by distribution ID and origin ID.
	oac map[string]map[string]string
}

func newCloudFront() *cloudFront { return &cloudFront{oac: map[string]map[string]string{}} }

func (cf *cloudFront) reset() {
	cf.mu.Lock()
	defer cf.mu.Unlock()
	cf.oac = map[string]map[string]string{}
}

var (
	motoDistributionARN = regexp.MustCompile(`arn:([\w-]+):cloudfront:(\d{12}):`)
	awsDistributionARN  = regexp.MustCompile(`arn:([\w-]+):cloudfront::(\d{12}):`)
)

// route attaches the fix a CloudFront call needs, or translates its request.
func (cf *cloudFront) route(r *http.Request, op string) *http.Request {
	parts := pathParts(r.URL.Path) // 2020-05-31 distribution ID ...
	switch op {
	case "CreateInvalidation", "GetInvalidation", "ListInvalidations":
		return withFix(r, fixInvalidationStatus)
	case "TagResource", "UntagResource", "ListTagsForResource":
		q := r.URL.Query()
		q.Set("Resource", awsDistributionARN.ReplaceAllString(q.Get("Resource"), "arn:$1:cloudfront:$2:"))
		r.URL.RawQuery = q.Encode()
		return r
	case "ListDistributions":
		return withFix(r, cf.fixDistributions("", nil))
	case "GetDistribution", "GetDistributionConfig":
		return withFix(r, cf.fixDistributions(parts[2], nil))
	case "CreateDistribution":
		return withFix(r, cf.fixDistributions("", originAccessControls(readBody(r))))
	case "UpdateDistribution":
		return withFix(r, cf.fixDistributions(parts[2], originAccessControls(readBody(r))))
	case "DeleteDistribution":
		cf.mu.Lock()
		delete(cf.oac, parts[2])
		cf.mu.Unlock()
	}
	return r
}

// originAccessControls reads origin ID → OriginAccessControlId from a
// DistributionConfig or DistributionConfigWithTags request.
func originAccessControls(body []byte) map[string]string {
	m := map[string]string{}
	doc, err := parseXML(body)
	if err != nil {
		return m
	}
	for _, o := range doc.all("Origin") {
		if oac := o.text("OriginAccessControlId"); oac != "" {
			m[o.text("Id")] = oac
		}
	}
	return m
}

// fixDistributions corrects the distributions in a Distribution, DistributionConfig
// (of distribution id) or DistributionList answer. origins, unless nil, are the
// OriginAccessControlIds a successful create or update (of id, or of the
// distribution the answer names) has set.
func (cf *cloudFront) fixDistributions(id string, origins map[string]string) responseFix {
	return func(resp *http.Response) error {
		return editXML(resp, func(doc *xmlNode) error {
			cf.mu.Lock()
			defer cf.mu.Unlock()
			if doc.XMLName.Local == "DistributionList" {
				for _, d := range doc.all("DistributionSummary") {
					cf.fixDistribution(d, d.text("Id"))
				}
				return nil
			}
			if doc.XMLName.Local == "Distribution" {
				id = doc.text("Id")
			}
			if origins != nil {
				cf.oac[id] = origins
			}
			cf.fixDistribution(doc, id)
			return nil
		})
	}
}

func (cf *cloudFront) fixDistribution(d *xmlNode, id string) {
	for _, arn := range d.all("ARN") {
		arn.Text = motoDistributionARN.ReplaceAllString(arn.Text, "arn:$1:cloudfront::$2:")
	}
	for _, o := range d.all("Origin") {
		if oac := cf.oac[id][o.text("Id")]; oac != "" {
			o.set("OriginAccessControlId", oac)
		}
	}
	behaviors := append(d.all("DefaultCacheBehavior"), d.all("CacheBehavior")...)
	for _, b := range behaviors {
		if b.text("CachePolicyId") != "" {
			b.remove("ForwardedValues")
		}
	}
	for _, vc := range d.all("ViewerCertificate") {
		switch {
		case vc.text("ACMCertificateArn") != "":
			vc.set("CloudFrontDefaultCertificate", "false")
			vc.set("CertificateSource", "acm")
		case vc.text("IAMCertificateId") != "":
			vc.set("CloudFrontDefaultCertificate", "false")
			vc.set("CertificateSource", "iam")
		}
	}
}

// fixInvalidationStatus: moto spells the finished state COMPLETED, AWS (and the SDK's
// InvalidationCompleted waiter) says Completed.
func fixInvalidationStatus(resp *http.Response) error {
	return rewriteBody(resp, func(b []byte) ([]byte, error) {
		return bytes.ReplaceAll(b, []byte("<Status>COMPLETED</Status>"), []byte("<Status>Completed</Status>")), nil
	})
}
