package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/knowmetools/km-release/internal/rollout"
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
			// Progress goes to stderr so --json output stays parseable.
			d, env, err := newDeployer(ctx, cmd.ErrOrStderr(), "Cluster", "Service", "ContainerName", "CodeDeployApp", "CodeDeployGroup")
			if err != nil {
				return err
			}
			var opts rollout.StatusOptions
			// The web version is shown when the bucket is known (Terraform outputs or
			// KM_WEB_BUCKET); it is not worth failing the status for.
			if bucket := d.Resources.WebBucket; bucket != "" {
				s3c := env.s3Client()
				opts.WebVersion = func(ctx context.Context) (string, error) {
					return webpublish.LiveVersion(ctx, s3c, bucket)
				}
			}
			st, err := d.Status(ctx, opts)
			if err != nil {
				return deployError(err)
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
