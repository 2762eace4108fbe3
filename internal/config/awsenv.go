package config

import (
	"github.com/aws/aws-sdk-go-v2/credentials"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
)

// awsOptionsFromEnv passes the standard AWS variables of an assembled (non-process)
// environment to the SDK, which otherwise reads only the process environment.
// Per-service endpoint variables (AWS_ENDPOINT_URL_<SERVICE>) are honoured only from
// the process environment.
func awsOptionsFromEnv(env Environ) []func(*awsconfig.LoadOptions) error {
	var opts []func(*awsconfig.LoadOptions) error
	get := func(k string) string { v, _ := env.Lookup(k); return v }
	if id, secret := get("AWS_ACCESS_KEY_ID"), get("AWS_SECRET_ACCESS_KEY"); id != "" && secret != "" {
		opts = append(opts, awsconfig.WithCredentialsProvider(
			credentials.NewStaticCredentialsProvider(id, secret, get("AWS_SESSION_TOKEN"))))
	}
	if p := get("AWS_PROFILE"); p != "" {
		opts = append(opts, awsconfig.WithSharedConfigProfile(p))
	}
	if ep := get("AWS_ENDPOINT_URL"); ep != "" {
		opts = append(opts, awsconfig.WithBaseEndpoint(ep))
	}
	return opts
}
