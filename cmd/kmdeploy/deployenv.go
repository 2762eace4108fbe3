package main

import (
	"context"

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

// loadDeployEnv resolves only the named Resources fields, so a command never needs
// Terraform for names it does not use. Configuration problems exit with code 2.
func loadDeployEnv(ctx context.Context, fields ...string) (*deployEnv, error) {
	cfg, err := loadConfig(ctx)
	if err != nil {
		return nil, err
	}
	res, err := cfg.ResourcesFor(ctx, fields...)
	if err != nil {
		return nil, asConfigError(err)
	}
	awsCfg, err := cfg.AWS(ctx)
	if err != nil {
		return nil, asConfigError(err)
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
	return s3.NewFromConfig(de.aws, func(o *s3.Options) { o.UsePathStyle = de.s3PathStyle() })
}
