package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/spf13/cobra"

	"github.com/knowmetools/km-release/internal/config"
	"github.com/knowmetools/km-release/internal/imageref"
)

func init() { register(newECRLoginCmd) }

// newECRLoginCmd prints the registry password for user AWS on stdout and nothing else,
// so the pipeline can turn it into a secret without it reaching a log.
func newECRLoginCmd() *cobra.Command {
	var showRegistry bool
	cmd := &cobra.Command{
		Use:   "ecr-login",
		Short: "Print the ECR registry password (user AWS) on stdout, for docker login --password-stdin",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			env, err := loadDeployEnv(ctx, config.Requirement{})
			if err != nil {
				return err
			}
			out, err := ecr.NewFromConfig(env.aws).GetAuthorizationToken(ctx, &ecr.GetAuthorizationTokenInput{})
			if err != nil {
				return fmt.Errorf("getting an ECR token: %w", err)
			}
			if len(out.AuthorizationData) == 0 {
				return errors.New("ECR returned no authorization data")
			}
			data := out.AuthorizationData[0]
			_, password, err := imageref.DecodeECRToken(aws.ToString(data.AuthorizationToken))
			if err != nil {
				return err
			}
			if showRegistry {
				fmt.Fprintln(cmd.OutOrStdout(), strings.TrimPrefix(strings.TrimPrefix(aws.ToString(data.ProxyEndpoint), "https://"), "http://"))
				return nil
			}
			fmt.Fprint(cmd.OutOrStdout(), password)
			return nil
		},
	}
	cmd.Flags().BoolVar(&showRegistry, "registry", false, "print the registry host instead of the password")
	return cmd
}
