// Command api is a small stand-in for km-api with the same container contract: commands
// `server` (HTTP on :8000), `migrate` and `background-jobs`; GET /status/ answers 503 until
// every migration is applied. The release pipeline is rehearsed and tested against it.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

// version is baked in at build time: -ldflags "-X main.version=<commit>".
var version = "dev"

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: api server|migrate|background-jobs")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	cfg, err := loadConfig(os.Getenv)
	if err != nil {
		fmt.Fprintln(os.Stderr, "api:", err)
		os.Exit(2)
	}
	switch os.Args[1] {
	case "server":
		err = serve(ctx, cfg)
	case "migrate":
		err = migrate(ctx, cfg)
	case "background-jobs":
		err = backgroundJobs(ctx, cfg)
	default:
		fmt.Fprintf(os.Stderr, "api: unknown command %q: use server, migrate or background-jobs\n", os.Args[1])
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "api:", err)
		os.Exit(1)
	}
}
