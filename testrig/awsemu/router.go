package awsemu

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/knowmetools/km-release/testrig/awsemu/codedeploy"
)

// X-Amz-Target prefixes of the JSON-protocol services the front end looks into.
const (
	targetECS = "AmazonEC2ContainerServiceV20141113."
	targetECR = "AmazonEC2ContainerRegistry_V20150921."
)

// call identifies one API call: the SigV4 signing name of its service (e.g. "ecs",
// "s3", "elasticloadbalancing", "logs") and its operation name (e.g. "RunTask").
type call struct {
	service   string
	operation string
	protocol  protocol
}

type protocol int

const (
	protoJSON     protocol = iota // awsJson1.0/1.1: X-Amz-Target
	protoQuery                    // awsQuery: Action= form
	protoEC2                      // ec2Query
	protoRESTJSON                 // Lambda
	protoRESTXML                  // CloudFront
	protoS3
)

var (
	credentialScope = regexp.MustCompile(`Credential=[^/]+/\d{8}/[^/]+/([^/]+)/aws4_request`)
	accessKeyRE     = regexp.MustCompile(`Credential=([^/]+)/`)
)

// serveFront is the emulation endpoint: it identifies the call, applies injected
// faults, and hands the request to the Go emulation that owns it or to moto.
func (e *Emulator) serveFront(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/v2/") && !isSigV4(r) {
		e.registry.ServeHTTP(w, r)
		return
	}
	c := identify(r)
	e.faults.count(c)
	if e.faults.intercept(r.Context(), w, c) {
		return
	}
	if r = e.authz.check(w, r, c); r == nil {
		return
	}
	target := r.Header.Get("X-Amz-Target")
	switch {
	case strings.HasPrefix(target, codedeploy.TargetPrefix):
		e.cd.ServeHTTP(w, r)
		return
	case strings.HasPrefix(target, targetECS):
		if e.tasks.serve(w, r, c.operation) {
			return
		}
		switch c.operation {
		case "DescribeServices":
			r = withFix(r, e.tasks.fixServiceCounts)
		case "CreateService":
			if fix := e.tasks.keepServiceSettings(r); fix != nil {
				r = withFix(r, fix)
			}
		}
	case c.service == "lambda" && c.operation == "Invoke":
		if e.lambdas.serveInvoke(w, r) {
			return
		}
	case strings.HasPrefix(target, targetECR):
		switch c.operation {
		case "CreateRepository", "DescribeRepositories", "GetAuthorizationToken":
			r = withFix(r, e.fixECR)
		}
	case c.service == "cloudfront":
		if serveManagedPolicies(w, r) {
			return
		}
		r = e.cloudFront.route(r, c.operation)
	case c.service == "ec2" && c.operation == "DescribeSecurityGroupRules":
		r = withFix(r, e.fixSecurityGroupRules)
	case c.service == "rds":
		if c.operation == "DescribeDBParameters" {
			r = withFix(r, fixDBParameters(r))
		}
		if e.pg != nil {
			var done bool
			if r, done = e.pg.route(w, r, c.operation); done {
				return
			}
		}
		if strings.Contains(c.operation, "DBInstance") {
			fix, _ := r.Context().Value(fixKey{}).(responseFix)
			r = e.routeDBResourceIDs(r, fix)
		}
	case c.service == "elasticloadbalancing" && c.operation == "DescribeTargetHealth":
		if fix := e.fixTargetHealth(r); fix != nil {
			r = withFix(r, fix)
		}
	}
	e.proxy.ServeHTTP(w, r)
}

func isSigV4(r *http.Request) bool {
	return strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-") || r.URL.Query().Get("X-Amz-Credential") != ""
}

// identify works out service, operation and protocol of a request without consuming
// its body (a form body is read and put back).
func identify(r *http.Request) call {
	var c call
	if m := credentialScope.FindStringSubmatch(r.Header.Get("Authorization")); m != nil {
		c.service = m[1]
	} else if cred := r.URL.Query().Get("X-Amz-Credential"); cred != "" {
		if parts := strings.Split(cred, "/"); len(parts) >= 4 {
			c.service = parts[3]
		}
	}
	if target := r.Header.Get("X-Amz-Target"); target != "" {
		c.protocol = protoJSON
		if i := strings.LastIndexByte(target, '.'); i >= 0 {
			c.operation = target[i+1:]
		}
		return c
	}
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") && r.Method == http.MethodPost {
		body := readBody(r)
		if vals, err := url.ParseQuery(string(body)); err == nil {
			c.operation = vals.Get("Action")
		}
		c.protocol = protoQuery
		if c.service == "ec2" {
			c.protocol = protoEC2
		}
		return c
	}
	switch c.service {
	case "s3":
		c.protocol = protoS3
		c.operation = s3Operation(r)
	case "cloudfront":
		c.protocol = protoRESTXML
		c.operation = cloudFrontOperation(r)
	default:
		c.protocol = protoRESTJSON
		if c.service == "lambda" {
			c.operation = lambdaOperation(r)
		} else {
			c.operation = r.Method + " " + r.URL.Path
		}
	}
	return c
}

// readBody reads the whole request body and puts an identical reader back.
func readBody(r *http.Request) []byte {
	if r.Body == nil {
		return nil
	}
	b, _ := io.ReadAll(r.Body)
	r.Body.Close()
	r.Body = io.NopCloser(bytes.NewReader(b))
	return b
}

func pathParts(p string) []string {
	p = strings.Trim(p, "/")
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}

func lambdaOperation(r *http.Request) string {
	parts := pathParts(r.URL.Path) // 2015-03-31 functions NAME [sub]
	switch {
	case len(parts) == 2 && parts[1] == "functions":
		if r.Method == http.MethodPost {
			return "CreateFunction"
		}
		return "ListFunctions"
	case len(parts) == 3 && parts[1] == "functions":
		switch r.Method {
		case http.MethodGet:
			return "GetFunction"
		case http.MethodDelete:
			return "DeleteFunction"
		}
	case len(parts) == 4 && parts[1] == "functions":
		switch parts[3] + " " + r.Method {
		case "invocations POST":
			return "Invoke"
		case "configuration GET":
			return "GetFunctionConfiguration"
		case "configuration PUT":
			return "UpdateFunctionConfiguration"
		case "code PUT":
			return "UpdateFunctionCode"
		case "versions POST":
			return "PublishVersion"
		case "policy POST":
			return "AddPermission"
		case "policy GET":
			return "GetPolicy"
		}
	}
	return r.Method + " " + r.URL.Path
}

func cloudFrontOperation(r *http.Request) string {
	parts := pathParts(r.URL.Path) // 2020-05-31 distribution [ID [invalidation [IID]|config]]
	if len(parts) < 2 {
		return r.Method + " " + r.URL.Path
	}
	switch parts[1] {
	case "tagging":
		if op := r.URL.Query().Get("Operation"); op != "" {
			return op + "Resource" // TagResource, UntagResource
		}
		return "ListTagsForResource"
	case "cache-policy", "response-headers-policy":
		if r.Method != http.MethodGet {
			break
		}
		kind := managedPolicies[parts[1]].name
		switch len(parts) {
		case 2:
			return "List" + strings.TrimSuffix(kind, "Policy") + "Policies"
		case 3:
			return "Get" + kind
		case 4:
			return "Get" + kind + "Config"
		}
	}
	if parts[1] != "distribution" {
		return r.Method + " " + r.URL.Path
	}
	switch {
	case len(parts) == 2 && r.Method == http.MethodPost:
		return "CreateDistribution"
	case len(parts) == 2:
		return "ListDistributions"
	case len(parts) == 3 && r.Method == http.MethodDelete:
		return "DeleteDistribution"
	case len(parts) == 3:
		return "GetDistribution"
	case len(parts) == 4 && parts[3] == "config" && r.Method == http.MethodPut:
		return "UpdateDistribution"
	case len(parts) == 4 && parts[3] == "config":
		return "GetDistributionConfig"
	case len(parts) == 4 && parts[3] == "invalidation" && r.Method == http.MethodPost:
		return "CreateInvalidation"
	case len(parts) == 4 && parts[3] == "invalidation":
		return "ListInvalidations"
	case len(parts) == 5 && parts[3] == "invalidation":
		return "GetInvalidation"
	}
	return r.Method + " " + r.URL.Path
}

// s3Operation names path-style S3 calls (the emulation needs UsePathStyle).
func s3Operation(r *http.Request) string {
	parts := strings.SplitN(strings.TrimPrefix(r.URL.Path, "/"), "/", 2)
	q := r.URL.Query()
	if parts[0] == "" {
		return "ListBuckets"
	}
	if len(parts) == 1 || parts[1] == "" { // bucket level
		for _, sub := range []struct{ key, name string }{
			{"policy", "BucketPolicy"}, {"website", "BucketWebsite"}, {"versioning", "BucketVersioning"},
			{"cors", "BucketCors"}, {"tagging", "BucketTagging"}, {"acl", "BucketAcl"},
		} {
			if q.Has(sub.key) {
				switch r.Method {
				case http.MethodPut:
					return "Put" + sub.name
				case http.MethodDelete:
					return "Delete" + sub.name
				default:
					return "Get" + sub.name
				}
			}
		}
		switch r.Method {
		case http.MethodPut:
			return "CreateBucket"
		case http.MethodDelete:
			return "DeleteBucket"
		case http.MethodHead:
			return "HeadBucket"
		case http.MethodPost:
			if q.Has("delete") {
				return "DeleteObjects"
			}
		case http.MethodGet:
			if q.Get("list-type") == "2" {
				return "ListObjectsV2"
			}
			if q.Has("versions") {
				return "ListObjectVersions"
			}
			return "ListObjects"
		}
		return r.Method + " bucket"
	}
	switch r.Method {
	case http.MethodPut:
		if q.Has("partNumber") {
			return "UploadPart"
		}
		if r.Header.Get("X-Amz-Copy-Source") != "" {
			return "CopyObject"
		}
		return "PutObject"
	case http.MethodGet:
		return "GetObject"
	case http.MethodHead:
		return "HeadObject"
	case http.MethodDelete:
		return "DeleteObject"
	case http.MethodPost:
		if q.Has("uploads") {
			return "CreateMultipartUpload"
		}
		if q.Has("uploadId") {
			return "CompleteMultipartUpload"
		}
	}
	return r.Method + " object"
}

type fixKey struct{}

// responseFix edits a moto response before the client sees it.
type responseFix func(resp *http.Response) error

func withFix(r *http.Request, fix responseFix) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), fixKey{}, fix))
}

// fixResponse is the proxy's ModifyResponse: it applies the fix attached to the request.
func (e *Emulator) fixResponse(resp *http.Response) error {
	fix, _ := resp.Request.Context().Value(fixKey{}).(responseFix)
	if fix == nil {
		return nil
	}
	return fix(resp)
}

// rewriteBody replaces a response body with edit(body), fixing Content-Length.
func rewriteBody(resp *http.Response, edit func([]byte) ([]byte, error)) error {
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return err
	}
	if body, err = edit(body); err != nil {
		return err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
	resp.Header.Del("Content-Encoding")
	return nil
}
