package config

import (
	"os"

	"github.com/knowmetools/km-release/internal/terraform"
)

// TerraformOptions returns how to run Terraform for the environment. Backend
// requirements (KM_TF_STATE_BUCKET for s3) are checked here rather than in Load, so
// commands that never run Terraform do not need them. The S3 endpoint comes from
// AWS_ENDPOINT_URL_S3, else AWS_ENDPOINT_URL (a local emulation); Progress is left
// for the caller to set.
func (c *Config) TerraformOptions() (terraform.Options, error) {
	b, probs := c.backend()
	if err := probs.err(); err != nil {
		return terraform.Options{}, err
	}
	return terraform.Options{
		Binary:      c.Terraform.Binary,
		Dir:         c.Terraform.Dir,
		Workspace:   c.Env,
		Backend:     b,
		Env:         c.Environ(),
		Redact:      c.Redactor(),
		IsSecretVar: c.IsSecretTFVar,
		AWSEndpoint: c.lookup("AWS_ENDPOINT_URL"),
		LockTimeout: c.Timeouts.TerraformLock,
	}, nil
}

// backend is the state backend, with what the settings of a Terraform run lack: the
// state bucket, the configuration directory, the binary.
func (c *Config) backend() (terraform.Backend, problems) {
	t := c.Terraform
	var probs problems
	if st, err := os.Stat(t.Dir); err != nil || !st.IsDir() {
		probs.add("KM_TF_DIR", "cannot use %q: no such directory; set it to the directory holding the Terraform configuration (.tf files)", t.Dir)
	}
	if _, err := terraform.FindBinary(t.Binary); err != nil {
		probs.add("KM_TF_BINARY", "%v", err)
	}
	b := terraform.Backend{Kind: t.Backend}
	switch t.Backend {
	case "s3":
		if t.StateBucket == "" {
			probs.add("KM_TF_STATE_BUCKET", "not set; expected the S3 bucket holding Terraform state (required with KM_TF_BACKEND=s3; use KM_TF_BACKEND=local for local state)")
		}
		b.Bucket, b.Key, b.Region = t.StateBucket, t.StateKey, t.StateRegion
		b.Endpoint = c.lookup("AWS_ENDPOINT_URL_S3")
		if base := c.lookup("AWS_ENDPOINT_URL"); base != "" {
			if b.Endpoint == "" {
				b.Endpoint = base
			}
			b.STSEndpoint = firstNonEmpty(c.lookup("AWS_ENDPOINT_URL_STS"), base)
			b.IAMEndpoint = firstNonEmpty(c.lookup("AWS_ENDPOINT_URL_IAM"), base)
		}
	case "local":
		b.LocalDir = t.LocalStateDir
	}
	return b, probs
}

// Guard returns the destroy/replace guard for the environment: the built-in
// stateful types, KM_PROTECTED_RESOURCES, and the addresses the user allows
// (--allow-destroy).
func (c *Config) Guard(allow []string) terraform.Guard {
	return terraform.Guard{Addresses: c.ProtectedResources, Allow: allow}
}

// lookup is the variable's value, "" when unset.
func (c *Config) lookup(key string) string {
	v, _ := c.env.Lookup(key)
	return v
}

func firstNonEmpty(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}
