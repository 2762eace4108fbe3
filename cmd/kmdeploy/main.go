// Command kmdeploy deploys the Know Me product: Terraform, the API rollout through
// CodeDeploy, the web bundle, and the runbooks. It reads its configuration from the
// environment so the same binary runs in the pipeline's toolbox container and by hand.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

// commandFactories is filled by each command's file (one file per command), so that
// adding a command never touches this file.
var commandFactories []func() *cobra.Command

func register(factory func() *cobra.Command) { commandFactories = append(commandFactories, factory) }

// ExitError carries the process exit code a command wants (2 for configuration errors,
// the container's code for run-task, 1 otherwise).
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string { return e.Err.Error() }
func (e *ExitError) Unwrap() error { return e.Err }

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "kmdeploy",
		Short:         "Deploy the Know Me API and web app to one environment",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	for _, factory := range commandFactories {
		root.AddCommand(factory())
	}
	return root
}

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	// The first Ctrl-C cancels the context so commands can stop waiting cleanly
	// (a rollout keeps running in AWS and says how to reattach).
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := newRootCmd()
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	fmt.Fprintln(os.Stderr, "kmdeploy:", err)
	var exit *ExitError
	if errors.As(err, &exit) {
		return exit.Code
	}
	return 1
}
