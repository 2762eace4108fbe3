// Command rehearse runs a complete Know Me release against the local AWS emulation
// (`make rehearse`): the real infra/ applied by kmdeploy, three API releases, a
// Terraform change rolled out, the web publish and the background jobs, driven by the
// real kmdeploy, then prints a timeline. It exits 1 when any step does not behave as
// expected and 2 when it cannot start. With -keep the environment stays up until
// Ctrl-C, for trying kmdeploy, terraform and awscli by hand.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/knowmetools/km-release/testrig/rehearsal"
)

func main() {
	verbose := flag.Bool("v", false, "show the emulation's events and every container's output live")
	dir := flag.String("C", ".", "the repository root")
	timeout := flag.Duration("timeout", 20*time.Minute, "longest the rehearsal's steps may take together")
	keep := flag.Bool("keep", false, "keep the environment up after the rehearsal, print how to reach it, and wait for Ctrl-C")
	flag.Parse()

	root, err := filepath.Abs(*dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "rehearse:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	fmt.Println("Rehearsing a Know Me release against the local AWS emulation (no cloud account needed).")
	tl, err := rehearsal.Run(ctx, rehearsal.Options{ModuleDir: root, Out: os.Stdout, Verbose: *verbose, Timeout: *timeout, Keep: *keep})
	os.Exit(rehearsal.Report(os.Stdout, os.Stderr, "rehearse", tl, err,
		"The rehearsal behaved as expected: infra/ applied without drift, v1 and v2 released, v3 stopped by its failing migration with v2 still serving, and a Terraform change rolled out."))
}
