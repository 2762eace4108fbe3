package terraform

import (
	"fmt"
	"path/filepath"

	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"
)

// Backend says where an environment's state lives. kmdeploy writes the backend
// block itself (an override file in the configuration directory), so infra/ may
// declare any backend, or none, and the same configuration runs locally and in CI.
type Backend struct {
	Kind string // "s3" or "local"

	// S3 backend. State locking uses an S3 lock object (use_lockfile), no DynamoDB.
	Bucket string
	Key    string
	Region string
	// Endpoint overrides the S3 endpoint (a local AWS emulation); it also turns on
	// path-style addressing and skips the AWS account checks an emulation cannot
	// answer.
	Endpoint string
	// STSEndpoint and IAMEndpoint override those services when set.
	STSEndpoint string
	IAMEndpoint string

	// LocalDir, for the local backend, keeps state files there instead of in the
	// configuration directory.
	LocalDir string
}

// Validate reports a backend that cannot work.
func (b Backend) Validate() error {
	switch b.Kind {
	case "s3":
		if b.Bucket == "" || b.Key == "" || b.Region == "" {
			return fmt.Errorf("s3 backend needs a bucket, a key and a region (KM_TF_STATE_BUCKET, KM_TF_STATE_KEY, KM_TF_STATE_REGION)")
		}
	case "local":
	default:
		return fmt.Errorf("unknown backend %q: expected s3 or local", b.Kind)
	}
	return nil
}

// Identity names the state location, recorded with saved plans so a plan is never
// applied to other state than it was made from.
func (b Backend) Identity() string {
	if b.Kind == "s3" {
		return fmt.Sprintf("s3://%s/%s (%s)", b.Bucket, b.Key, b.Region)
	}
	if b.LocalDir != "" {
		return "local:" + b.LocalDir
	}
	return "local"
}

// OverrideFileName is the file kmdeploy writes in the configuration directory to
// select the backend type.
const OverrideFileName = "kmdeploy_backend_override.tf"

// overrideFile renders the override that selects the backend type; its settings
// come separately from the backend config file, as `terraform init -backend-config`.
func (b Backend) overrideFile() []byte {
	f := hclwrite.NewEmptyFile()
	f.Body().AppendNewBlock("terraform", nil).Body().AppendNewBlock("backend", []string{b.Kind})
	return append([]byte("# Written by kmdeploy: the backend comes from its configuration (KM_TF_BACKEND).\n"), f.Bytes()...)
}

// configFile renders the backend settings (a .tfbackend file).
func (b Backend) configFile() []byte {
	f := hclwrite.NewEmptyFile()
	body := f.Body()
	switch b.Kind {
	case "s3":
		body.SetAttributeValue("bucket", cty.StringVal(b.Bucket))
		body.SetAttributeValue("key", cty.StringVal(b.Key))
		body.SetAttributeValue("region", cty.StringVal(b.Region))
		body.SetAttributeValue("use_lockfile", cty.True)
		body.SetAttributeValue("encrypt", cty.True)
		if b.Endpoint != "" {
			endpoints := map[string]cty.Value{"s3": cty.StringVal(b.Endpoint)}
			if b.STSEndpoint != "" {
				endpoints["sts"] = cty.StringVal(b.STSEndpoint)
			}
			if b.IAMEndpoint != "" {
				endpoints["iam"] = cty.StringVal(b.IAMEndpoint)
			}
			body.SetAttributeValue("endpoints", cty.ObjectVal(endpoints))
			body.SetAttributeValue("use_path_style", cty.True)
			for _, skip := range []string{"skip_credentials_validation", "skip_requesting_account_id", "skip_metadata_api_check", "skip_region_validation", "skip_s3_checksum"} {
				body.SetAttributeValue(skip, cty.True)
			}
		}
	case "local":
		if b.LocalDir != "" {
			body.SetAttributeValue("path", cty.StringVal(filepath.Join(b.LocalDir, "terraform.tfstate")))
			body.SetAttributeValue("workspace_dir", cty.StringVal(b.LocalDir))
		}
	}
	return f.Bytes()
}
