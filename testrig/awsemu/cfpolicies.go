package awsemu

import (
	"encoding/xml"
	"net/http"
)

// cloudFrontNS is the namespace of CloudFront's XML documents.
const cloudFrontNS = "http://cloudfront.amazonaws.com/doc/2020-05-31/"

// managedPolicy is one of CloudFront's AWS-managed policies. moto has no cache or
// response headers policies at all, and Terraform's aws_cloudfront_cache_policy and
// aws_cloudfront_response_headers_policy data sources look the managed ones up by name.
type managedPolicy struct {
	XMLName          xml.Name // CachePolicy or ResponseHeadersPolicy
	ID               string   `xml:"Id"`
	LastModifiedTime string
	Config           any // *cachePolicyConfig or *responseHeadersPolicyConfig, each names its element
}

type cachePolicyConfig struct {
	XMLName    xml.Name `xml:"CachePolicyConfig"`
	Comment    string
	Name       string
	DefaultTTL int64
	MaxTTL     int64
	MinTTL     int64
	Parameters struct {
		EnableAcceptEncodingGzip   bool
		EnableAcceptEncodingBrotli bool
		// The managed policies served here put no header, cookie or query string in
		// the cache key, so only the behaviours are modelled.
		HeaderBehavior      string `xml:"HeadersConfig>HeaderBehavior"`
		CookieBehavior      string `xml:"CookiesConfig>CookieBehavior"`
		QueryStringBehavior string `xml:"QueryStringsConfig>QueryStringBehavior"`
	} `xml:"ParametersInCacheKeyAndForwardedToOrigin"`
}

type responseHeadersPolicyConfig struct {
	XMLName  xml.Name `xml:"ResponseHeadersPolicyConfig"`
	Comment  string
	Name     string
	Security struct {
		XSSProtection struct {
			Override, Protection, ModeBlock bool
		}
		FrameOptions struct {
			Override    bool
			FrameOption string
		}
		ReferrerPolicy struct {
			Override       bool
			ReferrerPolicy string
		}
		ContentTypeOptions struct {
			Override bool
		}
		StrictTransportSecurity struct {
			Override, IncludeSubdomains, Preload bool
			AccessControlMaxAgeSec               int64
		}
	} `xml:"SecurityHeadersConfig"`
}

// managedTime is when the managed policies were last modified, as CloudFront reports it.
const managedTime = "2020-10-14T18:00:00Z"

// cachingPolicy is a managed cache policy that keys on nothing but the URL path.
func cachingPolicy(id, name, comment string, minTTL, defaultTTL, maxTTL int64, compress bool) managedPolicy {
	c := &cachePolicyConfig{Comment: comment, Name: name, MinTTL: minTTL, DefaultTTL: defaultTTL, MaxTTL: maxTTL}
	c.Parameters.EnableAcceptEncodingGzip = compress
	c.Parameters.EnableAcceptEncodingBrotli = compress
	c.Parameters.HeaderBehavior, c.Parameters.CookieBehavior, c.Parameters.QueryStringBehavior = "none", "none", "none"
	return managedPolicy{XMLName: xml.Name{Local: "CachePolicy"}, ID: id, LastModifiedTime: managedTime, Config: c}
}

func securityHeadersPolicy() managedPolicy {
	c := &responseHeadersPolicyConfig{Name: "Managed-SecurityHeadersPolicy", Comment: "Adds a set of security headers to every response"}
	s := &c.Security
	s.XSSProtection.Protection, s.XSSProtection.ModeBlock = true, true
	s.FrameOptions.FrameOption = "SAMEORIGIN"
	s.ReferrerPolicy.ReferrerPolicy = "strict-origin-when-cross-origin"
	s.StrictTransportSecurity.AccessControlMaxAgeSec = 31536000
	return managedPolicy{XMLName: xml.Name{Local: "ResponseHeadersPolicy"}, ID: "67f7725c-6f97-4210-82d7-5512b31e9d03", LastModifiedTime: managedTime, Config: c}
}

// policyKind is one kind of policy under /2020-05-31/<path>.
type policyKind struct {
	name     string // CachePolicy or ResponseHeadersPolicy
	notFound string // error code of an unknown ID
	managed  []managedPolicy
}

// managedPolicies are served by URL path segment; their settings are those AWS
// documents ("Use managed cache policies", "Use managed response headers policies").
var managedPolicies = map[string]policyKind{
	"cache-policy": {name: "CachePolicy", notFound: "NoSuchCachePolicy", managed: []managedPolicy{
		cachingPolicy("658327ea-f89d-4fab-a63d-7e88639e58f6", "Managed-CachingOptimized",
			"Policy with caching enabled. Supports Gzip and Brotli compression.", 1, 86400, 31536000, true),
		cachingPolicy("4135ea2d-6df8-44a3-9df3-4b5a84be39ad", "Managed-CachingDisabled",
			"Policy with caching disabled", 0, 0, 0, false),
	}},
	"response-headers-policy": {name: "ResponseHeadersPolicy", notFound: "NoSuchResponseHeadersPolicy", managed: []managedPolicy{
		securityHeadersPolicy(),
	}},
}

type policySummary struct {
	XMLName xml.Name // CachePolicySummary or ResponseHeadersPolicySummary
	Type    string
	Policy  *managedPolicy
}

type policyList struct {
	MaxItems int
	Quantity int
	Items    []policySummary `xml:"Items>Summary,omitempty"` // each summary's XMLName wins over "Summary"
}

// serveManagedPolicies answers List, Get and Get...Config of the managed cache and
// response headers policies; it reports whether the request was one of those.
// Creating policies of one's own is not emulated (moto answers 404).
func serveManagedPolicies(w http.ResponseWriter, r *http.Request) bool {
	parts := pathParts(r.URL.Path) // 2020-05-31 cache-policy [ID [config]]
	if r.Method != http.MethodGet || len(parts) < 2 || len(parts) > 4 {
		return false
	}
	kind, ok := managedPolicies[parts[1]]
	if !ok || len(parts) == 4 && parts[3] != "config" {
		return false
	}
	if len(parts) == 2 {
		list := policyList{MaxItems: 100}
		if t := r.URL.Query().Get("Type"); t == "" || t == "managed" {
			for i := range kind.managed {
				list.Items = append(list.Items, policySummary{
					XMLName: xml.Name{Local: kind.name + "Summary"}, Type: "managed", Policy: &kind.managed[i],
				})
			}
			list.Quantity = len(kind.managed)
		}
		writeXML(w, http.StatusOK, kind.name+"List", cloudFrontNS, list)
		return true
	}
	for _, p := range kind.managed {
		if p.ID != parts[2] {
			continue
		}
		w.Header().Set("ETag", "E"+p.ID[:8]) // managed policies never change
		if len(parts) == 4 {
			writeXML(w, http.StatusOK, kind.name+"Config", cloudFrontNS, p.Config)
		} else {
			writeXML(w, http.StatusOK, kind.name, cloudFrontNS, p)
		}
		return true
	}
	writeXML(w, http.StatusNotFound, "ErrorResponse", cloudFrontNS, errorResponse{Type: "Sender", Code: kind.notFound, Message: "The specified policy does not exist."})
	return true
}

// writeXML writes v as the document element root, in namespace ns when not "".
func writeXML(w http.ResponseWriter, status int, root, ns string, v any) {
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(xml.Header))
	start := xml.StartElement{Name: xml.Name{Local: root}}
	if ns != "" {
		start.Attr = []xml.Attr{{Name: xml.Name{Local: "xmlns"}, Value: ns}}
	}
	_ = xml.NewEncoder(w).EncodeElement(v, start)
}

// errorResponse is the error document of the awsQuery and restXml protocols.
type errorResponse struct {
	Type      string `xml:"Error>Type"`
	Code      string `xml:"Error>Code"`
	Message   string `xml:"Error>Message"`
	RequestID string `xml:"RequestId,omitempty"`
}
