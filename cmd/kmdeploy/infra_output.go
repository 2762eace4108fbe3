package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"

	"github.com/spf13/cobra"

	"github.com/knowmetools/km-release/internal/terraform"
)

func newInfraOutputCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "output [NAME]",
		Short: "Print the environment's Terraform outputs (sensitive ones redacted)",
		Args:  cobra.MaximumNArgs(1),
		RunE: infraRunE(nil, func(cmd *cobra.Command, ir *infraRun, args []string) error {
			outs, err := ir.runner.Outputs(ir.ctx)
			if err != nil {
				return err
			}
			w := ir.cfg.Redactor().Writer(cmd.OutOrStdout())
			defer w.Close()
			show := func(o terraform.Output) json.RawMessage {
				if o.Sensitive {
					return json.RawMessage(`"` + terraform.Sensitive + `"`)
				}
				return o.Value
			}
			if len(args) == 1 {
				o, ok := outs[args[0]]
				if !ok {
					return fmt.Errorf("workspace %s has no output %q (outputs: %v)", ir.cfg.Env, args[0], slices.Sorted(maps.Keys(outs)))
				}
				var s string
				if json.Unmarshal(show(o), &s) == nil && !asJSON {
					fmt.Fprintln(w, s)
				} else {
					fmt.Fprintln(w, string(show(o)))
				}
				return nil
			}
			if asJSON {
				m := map[string]json.RawMessage{}
				for k, o := range outs {
					m[k] = show(o)
				}
				data, err := json.MarshalIndent(m, "", "  ")
				if err != nil {
					return err
				}
				fmt.Fprintln(w, string(data))
				return nil
			}
			for _, k := range slices.Sorted(maps.Keys(outs)) {
				fmt.Fprintf(w, "%s = %s\n", k, show(outs[k]))
			}
			return nil
		}),
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}
