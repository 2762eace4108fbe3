// Command kmdeploy deploys the Know Me product: Terraform, the API rollout through
// CodeDeploy, the web bundle, and the runbooks. It reads its configuration from the
// environment so the same binary runs in the pipeline's toolbox container and by hand.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/knowmetools/km-release/internal/accessdenied"
)

// commandFactories is filled by each command's file (one file per command), so that
// adding a command never touches this file.
var commandFactories []func() *cobra.Command

func register(factory func() *cobra.Command) { commandFactories = append(commandFactories, factory) }

// verbose shows what is noise by default (Terraform's version and init output):
// -v/--verbose, or KM_VERBOSE=1.
var verbose bool

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "kmdeploy",
		Short:         "Deploy the Know Me API and web app to one environment",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().BoolVarP(&verbose, "verbose", "v", os.Getenv("KM_VERBOSE") == "1", "show details: Terraform's version and init output (also KM_VERBOSE=1)")
	for _, factory := range commandFactories {
		root.AddCommand(factory())
	}
	return root
}

func main() {
	// The first Ctrl-C cancels the context so commands can stop waiting cleanly
	// (a rollout keeps running in AWS and says how to reattach).
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := execute(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// execute runs one command line, prints its error, and returns its exit code.
func execute(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := newRootCmd()
	// Cobra checks the command, flags and arguments before running the command's
	// hooks: an error before this one ran is a usage error.
	reached := false
	root.PersistentPreRun = func(*cobra.Command, []string) { reached = true }
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err != nil && !reached {
		err = &usageError{err}
	}
	if err != nil {
		fmt.Fprintln(stderr, "kmdeploy:", err)
		if line, ok := accessdenied.Explain(err); ok {
			fmt.Fprintln(stderr, "kmdeploy:", line)
		}
	}
	return exitCode(err)
}
