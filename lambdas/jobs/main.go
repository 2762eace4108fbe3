// Command jobs is the scheduled Lambda that runs the API's background jobs on the image
// the service runs now.
package main

import (
	"context"
	"log"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/sethvargo/go-envconfig"

	"github.com/knowmetools/km-release/lambdas/jobs/jobrun"
)

func main() {
	ctx := context.Background()
	awsCfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		log.Fatalf("load AWS configuration: %v", err)
	}
	h, err := jobrun.NewHandler(ctx, envconfig.OsLookuper(), awsCfg)
	if err != nil {
		log.Fatal(err)
	}
	lambda.StartHandlerWithContext(ctx, h)
}
