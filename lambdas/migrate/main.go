// Command migrate is the CodeDeploy lifecycle hook Lambda that runs database
// migrations before a new API version takes traffic.
package main

import (
	"context"
	"log"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/sethvargo/go-envconfig"

	"github.com/knowmetools/km-release/lambdas/migrate/hook"
)

func main() {
	ctx := context.Background()
	awsCfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		log.Fatalf("load AWS configuration: %v", err)
	}
	lambda.StartHandlerWithContext(ctx, hook.NewHandler(ctx, envconfig.OsLookuper(), awsCfg))
}
