package main

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"

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
