package pipeline

import (
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strings"
)

// Environment is what the deploy tool needs to know about one target environment, passed to
// it as environment variables (kmdeploy reads its configuration with go-envconfig).
type Environment struct {
	Name        string // KM_ENV: the Terraform workspace, e.g. staging or production
	Region      string // AWS_REGION
	App         string // KM_APP, optional (kmdeploy's default applies)
	StateBucket string // KM_TF_STATE_BUCKET: the S3 bucket holding Terraform state
	StateKey    string // KM_TF_STATE_KEY, optional
	StateRegion string // KM_TF_STATE_REGION, optional (defaults to Region in kmdeploy)
	// EndpointURL (AWS_ENDPOINT_URL) points every AWS client at an emulation, for rehearsals.
	EndpointURL string
}

var (
	envNameRE = regexp.MustCompile(`^[a-z][a-z0-9-]{0,29}$`)
	regionRE  = regexp.MustCompile(`^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-[0-9]$`)
	bucketRE  = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
	appRE     = regexp.MustCompile(`^[a-z][a-z0-9-]{0,29}$`)
)

// Validate names every problem at once, with the flag that fixes it.
func (e Environment) Validate() error {
	var problems []string
	if !envNameRE.MatchString(e.Name) {
		problems = append(problems, fmt.Sprintf("--env %q: want a workspace name like staging or production (lower-case letters, digits, '-', at most 30)", e.Name))
	}
	if !regionRE.MatchString(e.Region) {
		problems = append(problems, fmt.Sprintf("--region %q: want an AWS region like eu-west-1", e.Region))
	}
	if e.App != "" && !appRE.MatchString(e.App) {
		problems = append(problems, fmt.Sprintf("--app %q: want a slug (lower-case letters, digits, '-')", e.App))
	}
	if !bucketRE.MatchString(e.StateBucket) {
		problems = append(problems, fmt.Sprintf("--state-bucket %q: want the S3 bucket that holds the Terraform state", e.StateBucket))
	}
	if e.StateRegion != "" && !regionRE.MatchString(e.StateRegion) {
		problems = append(problems, fmt.Sprintf("--state-region %q: want an AWS region like eu-west-1", e.StateRegion))
	}
	if e.EndpointURL != "" {
		if u, err := url.Parse(e.EndpointURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			problems = append(problems, fmt.Sprintf("--aws-endpoint-url %q: want an http(s) URL", e.EndpointURL))
		}
	}
	if len(problems) > 0 {
		return &ConfigError{Problems: problems}
	}
	return nil
}

// EnvVar is one plain (non-secret) variable for the toolbox.
type EnvVar struct{ Name, Value string }

// Vars are the toolbox variables for this environment, sorted by name so that identical
// arguments give identical containers (and cache hits where caching is allowed).
func (e Environment) Vars() []EnvVar {
	m := map[string]string{
		"KM_ENV":             e.Name,
		"AWS_REGION":         e.Region,
		"KM_TF_BACKEND":      "s3",
		"KM_TF_STATE_BUCKET": e.StateBucket,
		"TF_IN_AUTOMATION":   "1",
	}
	for name, v := range map[string]string{
		"KM_APP":             e.App,
		"KM_TF_STATE_KEY":    e.StateKey,
		"KM_TF_STATE_REGION": e.StateRegion,
		"AWS_ENDPOINT_URL":   e.EndpointURL,
	} {
		if v != "" {
			m[name] = v
		}
	}
	vars := make([]EnvVar, 0, len(m))
	for k, v := range m {
		vars = append(vars, EnvVar{k, v})
	}
	sort.Slice(vars, func(i, j int) bool { return vars[i].Name < vars[j].Name })
	return vars
}

// For returns a copy of e for another environment name (release and promote deploy the same
// settings to staging, then production).
func (e Environment) For(name string) Environment {
	e.Name = name
	return e
}

// CheckCredentials validates which AWS credential secrets were given: none (the toolbox then
// has no AWS access, which only read-free steps tolerate), or a key id with its secret key,
// optionally with a session token.
func CheckCredentials(haveKeyID, haveSecretKey, haveSessionToken bool) error {
	switch {
	case haveKeyID && haveSecretKey:
		return nil
	case !haveKeyID && !haveSecretKey && !haveSessionToken:
		return &ConfigError{Problems: []string{
			"no AWS credentials: pass --aws-access-key-id env://AWS_ACCESS_KEY_ID --aws-secret-access-key env://AWS_SECRET_ACCESS_KEY (and --aws-session-token env://AWS_SESSION_TOKEN for temporary credentials)",
		}}
	default:
		return &ConfigError{Problems: []string{
			"incomplete AWS credentials: --aws-access-key-id and --aws-secret-access-key go together (--aws-session-token only with both)",
		}}
	}
}

var tfVarRE = regexp.MustCompile(`^TF_VAR_[A-Za-z_][A-Za-z0-9_-]*$`)

// TFVarName derives the variable a Terraform secret is exposed as from the secret's URI:
// its last path element must be the variable's name, e.g. env://TF_VAR_admin_email or
// file:///run/secrets/TF_VAR_admin_email. This keeps the secret's name out of any string
// argument while still letting one flag (--tf-var) carry any number of them.
func TFVarName(uri string) (string, error) {
	_, rest, ok := strings.Cut(uri, "://")
	if !ok {
		rest = uri
	}
	rest = strings.TrimRight(rest, "/")
	name := rest[strings.LastIndex(rest, "/")+1:]
	if !tfVarRE.MatchString(name) {
		return "", fmt.Errorf("--tf-var %q: the secret's name must be the Terraform variable, e.g. env://TF_VAR_admin_email or file://./secrets/TF_VAR_admin_email", uri)
	}
	return name, nil
}
