package awsemu

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/knowmetools/km-release/testrig/awsemu/iampolicy"
)

// IAM in the emulation (docs/emulation.md, "IAM"): every actor of the product calls
// with temporary credentials of its own role, and every call made with such
// credentials is evaluated against the role's identity policies (inline and
// attached). The emulation's static credentials are the account's administrator
// (the person or pipeline that applies infra/), and are never restricted.
//
// Roles are assumed the way AWS does it, trust policy included: by a service for the
// actors it runs (Lambda for a function, ECS for a task, CodeDeploy for a deployment
// group), and with AssumeRoleWithWebIdentity for the pipeline (GitHub's OIDC token).

// session is one set of temporary credentials issued for a role.
type session struct {
	roleARN string // arn:aws:iam::ACCOUNT:role/NAME
	role    string // NAME
	arn     string // arn:aws:sts::ACCOUNT:assumed-role/NAME/SESSION, what denials name
}

// Decision is one authorisation the emulation made: who, which action on which
// resource, the outcome and the statement that decided it.
type Decision struct {
	Role     string
	Action   string
	Resource string
	Allowed  bool
	// Sid of the deciding statement ("" when no statement allowed, or it has none).
	Sid string
}

type authorizer struct {
	e *Emulator

	mu       sync.Mutex
	sessions map[string]session             // access key ID → session
	creds    map[string]aws.Credentials     // "service role-arn" → credentials issued
	policies map[string][]*iampolicy.Policy // role name → its identity policies
	log      []Decision
}

func newAuthorizer(e *Emulator) *authorizer {
	return &authorizer{e: e, sessions: map[string]session{}, creds: map[string]aws.Credentials{}, policies: map[string][]*iampolicy.Policy{}}
}

func (a *authorizer) reset() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.sessions, a.creds, a.policies, a.log = map[string]session{}, map[string]aws.Credentials{}, map[string][]*iampolicy.Policy{}, nil
}

// Decisions returns every authorisation made since the last Reset, in order: what
// each role was allowed and denied, measured rather than written down.
func (e *Emulator) Decisions() []Decision {
	e.authz.mu.Lock()
	defer e.authz.mu.Unlock()
	return slices.Clone(e.authz.log)
}

// AssumeRoleAs returns temporary credentials of roleARN as the service principal
// (e.g. "ecs-tasks.amazonaws.com") would get them: the role's trust policy must let
// that service assume it, with context (e.g. aws:SourceArn). Calls made with them are
// restricted to the role's policies.
func (e *Emulator) AssumeRoleAs(ctx context.Context, service, roleARN string, context map[string][]string) (aws.Credentials, error) {
	return e.authz.assumeFor(ctx, service, roleARN, context)
}

// ConfigFor is an SDK configuration for the emulation with creds.
func (e *Emulator) ConfigFor(creds aws.Credentials) aws.Config {
	cfg := e.AWSConfig()
	cfg.Credentials = credentials.StaticCredentialsProvider{Value: creds}
	return cfg
}

func (a *authorizer) assumeFor(ctx context.Context, service, roleARN string, context map[string][]string) (aws.Credentials, error) {
	key := service + " " + roleARN
	a.mu.Lock()
	c, ok := a.creds[key]
	a.mu.Unlock()
	if ok {
		return c, nil
	}
	name := roleName(roleARN)
	role, err := iam.NewFromConfig(a.e.backend).GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(name)})
	if err != nil {
		return aws.Credentials{}, fmt.Errorf("%s cannot assume role %s: %w", service, roleARN, err)
	}
	trust, err := iampolicy.Parse(aws.ToString(role.Role.AssumeRolePolicyDocument))
	if err != nil {
		return aws.Credentials{}, fmt.Errorf("trust policy of role %s: %w", name, err)
	}
	if !trust.AllowsAssume(iampolicy.Principal{Type: "Service", ID: service}, "sts:AssumeRole", context) {
		return aws.Credentials{}, fmt.Errorf("AccessDenied: the trust policy of role %s does not let %s assume it (sts:AssumeRole)", name, service)
	}
	out, err := sts.NewFromConfig(a.e.backend).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String(strings.Split(service, ".")[0])})
	if err != nil {
		return aws.Credentials{}, fmt.Errorf("assume role %s for %s: %w", roleARN, service, err)
	}
	c = aws.Credentials{AccessKeyID: aws.ToString(out.Credentials.AccessKeyId), SecretAccessKey: aws.ToString(out.Credentials.SecretAccessKey),
		SessionToken: aws.ToString(out.Credentials.SessionToken), Source: "emulation AssumeRole for " + service}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.creds[key] = c
	a.sessions[c.AccessKeyID] = session{roleARN: roleARN, role: name, arn: aws.ToString(out.AssumedRoleUser.Arn)}
	return c, nil
}

// authorizeAs evaluates req for role as service uses it (what a service does in the
// emulation on a role's behalf, without an HTTP call of its own).
func (a *authorizer) authorizeAs(ctx context.Context, service, roleARN string, req iampolicy.Request) error {
	creds, err := a.assumeFor(ctx, service, roleARN, nil)
	if err != nil {
		return err
	}
	a.mu.Lock()
	s := a.sessions[creds.AccessKeyID]
	a.mu.Unlock()
	return a.authorize(ctx, s, []iampolicy.Request{req})
}

func roleName(roleARN string) string { return roleARN[strings.LastIndexByte(roleARN, '/')+1:] }

// sessionOf is the session whose credentials signed r, if any.
func (a *authorizer) sessionOf(r *http.Request) (session, bool) {
	key := accessKeyOf(r)
	a.mu.Lock()
	defer a.mu.Unlock()
	s, ok := a.sessions[key]
	return s, ok
}

func accessKeyOf(r *http.Request) string {
	if m := accessKeyRE.FindStringSubmatch(r.Header.Get("Authorization")); m != nil {
		return m[1]
	}
	if cred := r.URL.Query().Get("X-Amz-Credential"); cred != "" {
		return strings.Split(cred, "/")[0]
	}
	return ""
}

// rolePolicies are the role's identity policies: inline and attached managed ones.
func (a *authorizer) rolePolicies(ctx context.Context, role string) ([]*iampolicy.Policy, error) {
	a.mu.Lock()
	cached, ok := a.policies[role]
	a.mu.Unlock()
	if ok {
		return cached, nil
	}
	client := iam.NewFromConfig(a.e.backend)
	var docs []string
	inline, err := client.ListRolePolicies(ctx, &iam.ListRolePoliciesInput{RoleName: aws.String(role)})
	if err != nil {
		return nil, err
	}
	for _, name := range inline.PolicyNames {
		p, err := client.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String(role), PolicyName: aws.String(name)})
		if err != nil {
			return nil, err
		}
		docs = append(docs, aws.ToString(p.PolicyDocument))
	}
	attached, err := client.ListAttachedRolePolicies(ctx, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String(role)})
	if err != nil {
		return nil, err
	}
	for _, ap := range attached.AttachedPolicies {
		p, err := client.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: ap.PolicyArn})
		if err != nil {
			return nil, err
		}
		v, err := client.GetPolicyVersion(ctx, &iam.GetPolicyVersionInput{PolicyArn: ap.PolicyArn, VersionId: p.Policy.DefaultVersionId})
		if err != nil {
			return nil, err
		}
		docs = append(docs, aws.ToString(v.PolicyVersion.Document))
	}
	var policies []*iampolicy.Policy
	for _, d := range docs {
		p, err := iampolicy.Parse(d)
		if err != nil {
			return nil, fmt.Errorf("a policy of role %s: %w", role, err)
		}
		policies = append(policies, p)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.policies[role] = policies
	return policies, nil
}

// forgetPolicies drops the cache after any change to IAM.
func (a *authorizer) forgetPolicies() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.policies = map[string][]*iampolicy.Policy{}
}

// authorize evaluates reqs for s; the first denial is returned as an *AccessDenied.
func (a *authorizer) authorize(ctx context.Context, s session, reqs []iampolicy.Request) error {
	policies, err := a.rolePolicies(ctx, s.role)
	if err != nil {
		return fmt.Errorf("read the policies of role %s: %w", s.role, err)
	}
	for _, req := range reqs {
		for _, res := range resourcesOf(req) {
			one := req
			one.Resources = []string{res}
			decision, st := iampolicy.Evaluate(policies, one)
			d := Decision{Role: s.role, Action: req.Action, Resource: res, Allowed: decision == iampolicy.Allow}
			if st != nil {
				d.Sid = st.Sid
			}
			a.mu.Lock()
			a.log = append(a.log, d)
			a.mu.Unlock()
			if !d.Allowed {
				return &AccessDenied{Session: s.arn, Action: req.Action, Resource: res, Explicit: decision == iampolicy.ExplicitDeny}
			}
		}
	}
	return nil
}

func resourcesOf(req iampolicy.Request) []string {
	if len(req.Resources) == 0 {
		return []string{"*"}
	}
	return req.Resources
}

// AccessDenied is a denied call, with AWS's message.
type AccessDenied struct {
	Session  string // the caller's assumed-role ARN
	Action   string
	Resource string
	Explicit bool
}

func (d *AccessDenied) Error() string {
	why := "because no identity-based policy allows the " + d.Action + " action"
	if d.Explicit {
		why = "with an explicit deny in an identity-based policy"
	}
	return fmt.Sprintf("User: %s is not authorized to perform: %s on resource: %s %s", d.Session, d.Action, d.Resource, why)
}

// writeDenied answers a denied call the way the service's protocol reports errors.
func writeDenied(w http.ResponseWriter, c call, err error) {
	msg := err.Error()
	switch c.protocol {
	case protoJSON, protoRESTJSON:
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.Header().Set("X-Amzn-ErrorType", "AccessDeniedException")
		status := http.StatusBadRequest
		if c.protocol == protoRESTJSON {
			status = http.StatusForbidden
		}
		w.WriteHeader(status)
		b, _ := json.Marshal(map[string]string{"__type": "AccessDeniedException", "message": msg, "Message": msg})
		_, _ = w.Write(b)
	case protoS3:
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusForbidden)
		_ = xml.NewEncoder(w).Encode(struct {
			XMLName xml.Name `xml:"Error"`
			Code    string
			Message string
		}{Code: "AccessDenied", Message: msg})
	default: // REST-XML (CloudFront) and the query protocols (ELB, IAM, STS, RDS, EC2)
		w.Header().Set("Content-Type", "text/xml")
		w.WriteHeader(http.StatusForbidden)
		_ = xml.NewEncoder(w).Encode(struct {
			XMLName xml.Name `xml:"ErrorResponse"`
			Error   struct{ Type, Code, Message string }
		}{Error: struct{ Type, Code, Message string }{"Sender", "AccessDenied", msg}})
	}
}

// check enforces IAM on one call: a call signed by a role session must be allowed by
// the role's policies (a denial is answered here and nil returned); a web identity is
// checked against the role's trust policy; a change to IAM drops the policy cache.
func (a *authorizer) check(w http.ResponseWriter, r *http.Request, c call) *http.Request {
	switch {
	case c.operation == "AssumeRoleWithWebIdentity":
		return a.assumeWithWebIdentity(w, r) // unsigned: the token is the credential
	case c.service == "iam" && !strings.HasPrefix(c.operation, "Get") && !strings.HasPrefix(c.operation, "List"):
		a.forgetPolicies()
		return withFix(r, func(*http.Response) error { a.forgetPolicies(); return nil })
	}
	s, ok := a.sessionOf(r)
	if !ok {
		return r // the account's administrator, or unsigned
	}
	reqs, err := a.requestsFor(r, c)
	if err == nil {
		err = a.authorize(r.Context(), s, reqs)
	}
	if err != nil {
		a.e.opts.Logf("awsemu: iam: %v", err)
		writeDenied(w, c, err)
		return nil
	}
	return r
}

// assumeWithWebIdentity checks AssumeRoleWithWebIdentity against the role's trust
// policy with the token's claims (the emulation trusts the token's content: it does
// not check GitHub's signature) and records the session moto issues.
func (a *authorizer) assumeWithWebIdentity(w http.ResponseWriter, r *http.Request) *http.Request {
	form, _ := url.ParseQuery(string(readBody(r)))
	roleARN, token := form.Get("RoleArn"), form.Get("WebIdentityToken")
	claims, err := jwtClaims(token)
	if err == nil {
		err = a.trusts(r.Context(), roleARN, claims)
	}
	if err != nil {
		writeDenied(w, call{protocol: protoQuery}, err)
		return nil
	}
	return withFix(r, func(resp *http.Response) error {
		if resp.StatusCode != http.StatusOK {
			return nil
		}
		return rewriteBody(resp, func(b []byte) ([]byte, error) {
			var out struct {
				Result struct {
					Credentials     struct{ AccessKeyId string }
					AssumedRoleUser struct{ Arn string }
				} `xml:"AssumeRoleWithWebIdentityResult"`
			}
			if xml.Unmarshal(b, &out) == nil && out.Result.Credentials.AccessKeyId != "" {
				a.mu.Lock()
				a.sessions[out.Result.Credentials.AccessKeyId] = session{roleARN: roleARN, role: roleName(roleARN), arn: out.Result.AssumedRoleUser.Arn}
				a.mu.Unlock()
			}
			return b, nil
		})
	})
}

// trusts checks that the role's trust policy accepts a web identity with claims: the
// OIDC provider of its issuer, and conditions on its aud and sub.
func (a *authorizer) trusts(ctx context.Context, roleARN string, claims map[string]any) error {
	role, err := iam.NewFromConfig(a.e.backend).GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(roleName(roleARN))})
	if err != nil {
		return fmt.Errorf("AccessDenied: role %s: %v", roleARN, err)
	}
	trust, err := iampolicy.Parse(aws.ToString(role.Role.AssumeRolePolicyDocument))
	if err != nil {
		return err
	}
	issuer, _ := claims["iss"].(string)
	host := strings.TrimPrefix(issuer, "https://")
	context := map[string][]string{}
	for _, claim := range []string{"aud", "sub", "amr"} {
		if v, ok := claims[claim].(string); ok {
			context[host+":"+claim] = []string{v}
		}
	}
	provider := "arn:aws:iam::" + AccountID + ":oidc-provider/" + host
	if !trust.AllowsAssume(iampolicy.Principal{Type: "Federated", ID: provider}, "sts:AssumeRoleWithWebIdentity", context) {
		return fmt.Errorf("Not authorized to perform sts:AssumeRoleWithWebIdentity: the trust policy of role %s does not accept a token of %s with sub %v and aud %v",
			roleName(roleARN), issuer, claims["sub"], claims["aud"])
	}
	return nil
}

// jwtClaims decodes a JWT's payload without checking its signature.
func jwtClaims(token string) (map[string]any, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, fmt.Errorf("InvalidIdentityToken: not a JWT")
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, fmt.Errorf("InvalidIdentityToken: %v", err)
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		return nil, fmt.Errorf("InvalidIdentityToken: %v", err)
	}
	return claims, nil
}

// WebIdentityToken makes the kind of token GitHub Actions hands a workflow (unsigned:
// the emulation reads but does not verify it), for AWS_WEB_IDENTITY_TOKEN_FILE.
func WebIdentityToken(subject string) string {
	enc := func(v any) string {
		b, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	return enc(map[string]string{"alg": "none", "typ": "JWT"}) + "." +
		enc(map[string]any{"iss": "https://token.actions.githubusercontent.com", "aud": "sts.amazonaws.com", "sub": subject}) + ".emulation"
}
