package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/knowmetools/km-release/internal/config"
)

func init() { register(newConfigCmd) }

// loadConfig reads the configuration from the process environment.
func loadConfig(ctx context.Context) (*config.Config, error) {
	return config.Load(ctx, config.OSEnv())
}

func newConfigCmd() *cobra.Command {
	var noResources bool
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Print the resolved configuration (secrets redacted) and the environment's resource names",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd.Context())
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			printSettings(out, "Configuration", cfg.Settings())
			if noResources {
				return nil
			}
			res, err := cfg.Resources(cmd.Context())
			if err != nil {
				fmt.Fprintf(out, "\nResources: not resolvable: %v\n", cfg.Redactor().Error(err))
				return nil
			}
			fmt.Fprintln(out)
			printSettings(out, "Resources (KM_RESOURCES_FROM="+cfg.ResourcesFrom+")", res.Settings())
			return nil
		},
	}
	cmd.Flags().BoolVar(&noResources, "no-resources", false, "do not resolve resource names (never runs Terraform)")
	return cmd
}

func printSettings(w io.Writer, title string, settings []config.Setting) {
	fmt.Fprintln(w, title+":")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, s := range settings {
		v := s.Value
		if v == "" || v == "0" {
			v = "-"
		}
		fmt.Fprintf(tw, "  %s\t%s\n", s.Var, v)
	}
	tw.Flush()
}
