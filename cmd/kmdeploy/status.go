package main

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/spf13/cobra"

	"github.com/knowmetools/km-release/internal/config"
	"github.com/knowmetools/km-release/internal/servicestatus"
	"github.com/knowmetools/km-release/internal/webpublish"
)

func init() { register(newStatusCmd) }

func newStatusCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the image and task definition the API runs, recent deployments and the live web version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			env, err := loadDeployEnv(ctx, config.Requirement{Resources: servicestatus.Needs})
			if err != nil {
				return err
			}
			svc := &servicestatus.Service{ECS: ecs.NewFromConfig(env.aws), CodeDeploy: codedeploy.NewFromConfig(env.aws), Resources: env.res}
			var opts servicestatus.StatusOptions
			// The web version is shown when the bucket is known (Terraform outputs or
			// KM_WEB_BUCKET); it is not worth failing the status for.
			if bucket := env.res.WebBucket; bucket != "" {
				s3c := env.s3Client()
				opts.WebVersion = func(ctx context.Context) (string, error) {
					return webpublish.LiveVersion(ctx, s3c, bucket)
				}
			}
			st, err := svc.Status(ctx, opts)
			if err != nil {
				return err
			}
			if asJSON {
				return st.WriteJSON(cmd.OutOrStdout())
			}
			return st.WriteText(cmd.OutOrStdout())
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}
