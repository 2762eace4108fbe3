// Command rehearse-dagger runs the whole release through the Dagger module against the
// local AWS emulation (`make rehearse-dagger`): `dagger call ... release` to staging,
// `promote` to production, then a release whose migration fails, each followed by the
// rehearsal's checks, then prints a timeline. It needs the dagger CLI and an engine
// whose containers reach the emulation (-listen-host) and treat its registry
// (-registry-port) as plain http. It exits 1 when any step does not behave as expected
// and 2 when it cannot start.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/knowmetools/km-release/testrig/rehearsal"
)

func main() {
	port, _ := strconv.Atoi(os.Getenv("KM_REHEARSAL_REGISTRY_PORT"))
	host := os.Getenv("KM_REHEARSAL_LISTEN_HOST")
	if host == "" {
		host = "127.0.0.1"
	}
	listenHost := flag.String("listen-host", host, "address the emulation listens on: one the engine's containers reach (also KM_REHEARSAL_LISTEN_HOST)")
	registryPort := flag.Int("registry-port", port, "port of the emulated ECR registry, which the engine must treat as plain http; 0 picks a free one (also KM_REHEARSAL_REGISTRY_PORT)")
	daggerCLI := flag.String("dagger", "dagger", "the dagger CLI (v0.21.8)")
	verbose := flag.Bool("v", false, "show the emulation's events and dagger's progress live")
	dir := flag.String("C", ".", "the repository root")
	timeout := flag.Duration("timeout", 90*time.Minute, "longest the steps may take together")
	flag.Parse()

	root, err := filepath.Abs(*dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "rehearse-dagger:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	fmt.Println("Releasing through the Dagger module against the local AWS emulation (no cloud account needed).")
	tl, err := rehearsal.RunDagger(ctx, rehearsal.DaggerOptions{
		Options:    rehearsal.Options{ModuleDir: root, Out: os.Stdout, Verbose: *verbose, Timeout: *timeout},
		ListenHost: *listenHost, RegistryPort: *registryPort, Dagger: *daggerCLI,
	})
	os.Exit(rehearsal.Report(os.Stdout, os.Stderr, "rehearse-dagger", tl, err,
		"Through Dagger: released to staging, promoted the same digest to production, and a failing migration stopped with the released version still serving."))
}
