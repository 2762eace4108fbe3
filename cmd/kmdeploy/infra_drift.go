package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func newInfraDriftCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "drift",
		Short: "Check whether the live infrastructure still matches (exit code 3 when it does not)",
		Long: `Plans against the live infrastructure without saving or applying anything and
reports resources changed outside Terraform and changes not yet applied. Exit code 0:
in sync; 3: drift, with the addresses; other non-zero: the check itself failed.`,
		Args: cobra.NoArgs,
		RunE: infraRunE(nil, func(cmd *cobra.Command, ir *infraRun, _ []string) error {
			report, err := ir.runner.Drift(ir.ctx)
			if report != nil {
				w := ir.cfg.Redactor().Writer(cmd.OutOrStdout())
				if err == nil {
					fmt.Fprintf(w, "No drift: workspace %s matches the configuration.\n", ir.cfg.Env)
				} else {
					report.Write(w)
				}
				w.Close()
			}
			return err
		}),
	}
}
