// Command lambdazip builds the project's Lambda functions as reproducible deployment
// zips for the provided.al2023 runtime: <out>/<function>-<arch>.zip, each holding one
// executable named bootstrap. Same sources and Go version give the same bytes.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"time"
)

func main() {
	out := flag.String("out", "dist/lambdas", "directory the zips are written to")
	functions := flag.String("functions", "migrate,jobs", "comma-separated functions (directories under lambdas/)")
	archs := flag.String("arch", "arm64,x86_64", "comma-separated Lambda architectures (arm64, x86_64)")
	root := flag.String("root", ".", "module root")
	timeout := flag.Duration("timeout", 20*time.Minute, "give up after this long")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()

	targets, err := parseTargets(*functions, *archs)
	if err != nil {
		fmt.Fprintln(os.Stderr, "lambdazip:", err)
		os.Exit(2)
	}
	for _, t := range targets {
		start := time.Now()
		fmt.Fprintf(os.Stderr, "building %s for linux/%s...\n", t.Function, t.Arch)
		path, size, err := Build(ctx, "go", *root, *out, t)
		if err != nil {
			fmt.Fprintln(os.Stderr, "lambdazip:", err)
			os.Exit(1)
		}
		fmt.Printf("%s\t%d bytes\t(%s)\n", path, size, time.Since(start).Round(100*time.Millisecond))
	}
}

func parseTargets(functions, archs string) ([]Target, error) {
	var ts []Target
	for _, f := range strings.Split(functions, ",") {
		f = strings.TrimSpace(f)
		if f == "" || strings.ContainsAny(f, `/\.`) {
			return nil, fmt.Errorf("function %q: give a directory name under lambdas/, e.g. migrate", f)
		}
		for _, a := range strings.Split(archs, ",") {
			a = strings.TrimSpace(a)
			if _, ok := goArch[a]; !ok {
				return nil, fmt.Errorf("architecture %q: Lambda supports arm64 and x86_64", a)
			}
			ts = append(ts, Target{Function: f, Arch: a})
		}
	}
	return ts, nil
}
