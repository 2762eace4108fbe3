package main

import (
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/spf13/cobra"

	"github.com/knowmetools/km-release/internal/config"
	"github.com/knowmetools/km-release/internal/imageref"
)

func init() { register(newImageCmd) }

func newImageCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "image",
		Short: "Work with the environment's API images",
	}
	cmd.AddCommand(newImageCopyCmd())
	return cmd
}

// newImageCopyCmd copies an image another environment passed (e.g. staging's) into this
// environment's repository, under the same digest: production then runs exactly what was
// tested, from a repository its task execution role may pull and whose lifecycle rules
// are its own.
func newImageCopyCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "copy SOURCE",
		Short: "Copy an image (pinned by digest) into the environment's ECR repository; prints REPOSITORY@sha256:... (same digest)",
		Long: `Copies SOURCE (REGISTRY/REPOSITORY@sha256:DIGEST) into the environment's repository
(Terraform output ecr_repository_url, or KM_ECR_REPOSITORY_URL), tagged
sha256-<hex> so that the untagged-image lifecycle rule never expires it, and prints the
copy pinned by the same digest, ready for kmdeploy rollout --image. Both registries are
logged in to with the caller's ECR token: the caller needs read access to SOURCE's
repository (the CI role's EcrPromoteSource grant) and push access to the environment's.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			var flags flagProblems
			src, err := imageref.Parse(args[0])
			switch {
			case err != nil:
				flags.add("SOURCE", "%v", err)
			case !src.Pinned():
				flags.add("SOURCE", "%q is not pinned by digest; copy the exact image: REGISTRY/REPOSITORY@sha256:DIGEST", args[0])
			}
			env, err := loadDeployEnv(ctx, config.Requirement{Resources: imageref.CopyNeeds, Flags: flags})
			if err != nil {
				return err
			}
			resolver := imageref.Resolver{ECR: ecr.NewFromConfig(env.aws)}
			dst, err := resolver.Copy(ctx, src, env.res.ECRRepositoryURL)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), dst)
			return nil
		},
	}
}
