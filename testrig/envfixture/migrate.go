package envfixture

import (
	"context"
	"strings"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/sethvargo/go-envconfig"

	"github.com/knowmetools/km-release/internal/config"
	"github.com/knowmetools/km-release/lambdas/migrate/hook"
)

// MigrateHook is the product's migration hook as an emulated Lambda: the function's
// configured environment becomes the hook's configuration.
func MigrateHook(ctx context.Context, env map[string]string, awsCfg aws.Config) (lambda.Handler, error) {
	return hook.NewHandler(ctx, envconfig.MapLookuper(env), awsCfg), nil
}

// MigrateEnv is the migration function's environment for r, as the infrastructure
// sets it.
func MigrateEnv(r *config.Resources) map[string]string {
	return map[string]string{
		"CLUSTER":         r.Cluster,
		"SUBNETS":         strings.Join(r.TaskSubnets, ","),
		"SECURITY_GROUPS": strings.Join(r.TaskSecurityGroups, ","),
		"CONTAINER_NAME":  r.ContainerName,
		// Short polls: emulated tasks stop within milliseconds.
		"POLL_INTERVAL": "200ms",
	}
}
