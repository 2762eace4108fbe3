package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/knowmetools/km-release/internal/bucketcopy"
	"github.com/knowmetools/km-release/internal/config"
)

func init() { register(newBucketCmd) }

func newBucketCmd() *cobra.Command {
	bucket := &cobra.Command{Use: "bucket", Short: "Bucket operations of the runbooks (docs/runbooks.md)"}
	var opts bucketcopy.Options
	copyCmd := &cobra.Command{
		Use:   "copy --from BUCKET --to BUCKET [--dry-run]",
		Short: "Server-side parallel copy keeping metadata; resumable; verified by listing both sides",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			var flags flagProblems
			for _, f := range []struct{ flag, bucket string }{{"--from", opts.From}, {"--to", opts.To}} {
				if f.bucket == "" {
					flags.add(f.flag, "not given; pass a bucket name")
				}
			}
			if opts.Workers < 1 {
				flags.add("--workers", "cannot use %d; expected at least 1 parallel copy", opts.Workers)
			}
			env, err := loadDeployEnv(ctx, config.Requirement{Flags: flags})
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			every := 100
			opts.Progress = func(_ string, done, total int) {
				if done%every == 0 || done == total {
					fmt.Fprintf(out, "copied %d/%d\n", done, total)
				}
			}
			start := time.Now()
			res, err := bucketcopy.Copy(ctx, env.s3Client(), opts)
			if err != nil {
				return err
			}
			if opts.DryRun {
				for _, key := range res.Copied {
					fmt.Fprintf(out, "would copy %s\n", key)
				}
				fmt.Fprintf(out, "dry run: %d of %d objects to copy, %d already there\n", len(res.Copied), res.SourceObjects, res.Skipped)
				return nil
			}
			fmt.Fprintf(out, "copied %d objects (%s), %d already there; verified %d objects (count, sizes, ETags) in %s\n",
				len(res.Copied), humanBytes(res.CopiedBytes), res.Skipped, res.SourceObjects, time.Since(start).Round(time.Millisecond))
			return nil
		},
	}
	copyCmd.Flags().StringVar(&opts.From, "from", "", "source bucket")
	copyCmd.Flags().StringVar(&opts.To, "to", "", "destination bucket (must exist)")
	copyCmd.Flags().BoolVar(&opts.DryRun, "dry-run", false, "list what would be copied; copy nothing")
	copyCmd.Flags().IntVar(&opts.Workers, "workers", 16, "parallel copies")
	bucket.AddCommand(copyCmd)
	return bucket
}
