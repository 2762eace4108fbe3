package main

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/knowmetools/km-release/internal/config"
)

// deployEnv is what a command against one environment starts from: its configuration,
// the SDK configuration, and the resource names the command needs.
type deployEnv struct {
	cfg *config.Config
	aws aws.Config
	res *config.Resources
}

// loadDeployEnv checks, in one round and before anything is done, the command's flag
// problems, the configuration and what the resource names need; then it resolves only
// the names the operation declares, so a command never needs Terraform for names it
// does not use.
func loadDeployEnv(ctx context.Context, req config.Requirement) (*deployEnv, error) {
	cfg, err := config.LoadFor(ctx, config.OSEnv(), req)
	if err != nil {
		return nil, err
	}
	res, err := cfg.ResourcesFor(ctx, req.Resources)
	if err != nil {
		return nil, err
	}
	awsCfg, err := cfg.AWS(ctx)
	if err != nil {
		return nil, err
	}
	return &deployEnv{cfg: cfg, aws: awsCfg, res: res}, nil
}

// s3PathStyle addresses buckets by path when an endpoint override (a local emulation)
// is in use, through AWS_ENDPOINT_URL or AWS_ENDPOINT_URL_S3, since virtual-host bucket
// names do not resolve there. Every S3 client of the commands takes it from here.
func (de *deployEnv) s3PathStyle() bool {
	_, s3Endpoint := de.cfg.Lookup("AWS_ENDPOINT_URL_S3")
	return de.aws.BaseEndpoint != nil || s3Endpoint
}

// s3Client is an S3 client for the environment.
func (de *deployEnv) s3Client() *s3.Client {
	return s3.NewFromConfig(de.aws, func(o *s3.Options) {
		o.UsePathStyle = de.s3PathStyle()
		// Objects without a checksum (most) are normal: no log line for each.
		o.DisableLogOutputChecksumValidationSkipped = true
	})
}

// flagProblems collects the problems of a command's flags, for loadDeployEnv.
type flagProblems []config.FieldError

func (p *flagProblems) add(flag, format string, args ...any) {
	*p = append(*p, config.Problemf(flag, format, args...))
}

// positiveDuration checks a --timeout-like flag: 0 means "the configured default",
// anything below is refused like a negative KM_*_TIMEOUT.
func (p *flagProblems) positiveDuration(flag string, d time.Duration) {
	if d < 0 {
		p.add(flag, "cannot use %s; expected a positive duration such as 30m (or leave it out for the configured default)", d)
	}
}

// err turns the problems into the configuration error they are (for commands that
// load no environment).
func (p flagProblems) err() error {
	if len(p) == 0 {
		return nil
	}
	return &config.Error{Problems: p}
}
