package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

// confirmed guards the state surgery of the runbooks: the user types the address again,
// so a pasted command with the wrong address does nothing.
func confirmed(confirm *string) func(args []string) flagProblems {
	return func(args []string) flagProblems {
		var flags flagProblems
		if address := args[0]; *confirm != address {
			flags.add("--confirm", "state changes need --confirm=%s (the address again), so nothing is changed by mistake", address)
		}
		return flags
	}
}

func newInfraForgetCmd() *cobra.Command {
	var confirm string
	cmd := &cobra.Command{
		Use:   "forget ADDRESS --confirm=ADDRESS",
		Short: "Remove a resource from the environment's Terraform state without destroying it (runbooks)",
		Args:  cobra.ExactArgs(1),
		RunE: infraRunE(confirmed(&confirm), func(cmd *cobra.Command, ir *infraRun, args []string) error {
			if err := ir.runner.Forget(ir.ctx, args[0]); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s is no longer managed by workspace %s; the resource itself still exists\n", args[0], ir.cfg.Env)
			return nil
		}),
	}
	cmd.Flags().StringVar(&confirm, "confirm", "", "the same address again")
	return cmd
}

func newInfraAdoptCmd() *cobra.Command {
	var confirm string
	cmd := &cobra.Command{
		Use:   "adopt ADDRESS ID --confirm=ADDRESS",
		Short: "Import an existing resource into the environment's Terraform state at ADDRESS (runbooks)",
		Args:  cobra.ExactArgs(2),
		RunE: infraRunE(confirmed(&confirm), func(cmd *cobra.Command, ir *infraRun, args []string) error {
			if err := ir.runner.Adopt(ir.ctx, args[0], args[1]); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s now manages %s in workspace %s; run `kmdeploy infra plan` to see that nothing else changes\n", args[0], args[1], ir.cfg.Env)
			return nil
		}),
	}
	cmd.Flags().StringVar(&confirm, "confirm", "", "the same address again")
	return cmd
}
