package main

import (
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/knowmetools/km-release/internal/config"
	"github.com/knowmetools/km-release/internal/webpublish"
)

func init() { register(newPublishWebCmd) }

// publishWebFlags are the command line of publish-web; options turns them into the
// library's options once the environment's resources are known.
type publishWebFlags struct {
	dir                string
	dryRun             bool
	verify             bool
	noWait             bool
	keep               int
	version            string
	concurrency        int
	hashedCacheControl string
	entryCacheControl  string
	otherCacheControl  string
}

// check validates every flag, the bundle directory first, in one round.
func (f *publishWebFlags) check() (webpublish.Policy, flagProblems) {
	var flags flagProblems
	if f.dir == "" {
		flags.add("--dir", "not given; pass the web build output directory (the one holding index.html)")
	} else if err := webpublish.CheckDir(f.dir); err != nil {
		flags.add("--dir", "%v", err)
	}
	if f.keep < 0 {
		flags.add("--keep", "cannot use %d; give the number of previous releases whose files stay (0 or more)", f.keep)
	}
	if f.concurrency < 1 {
		flags.add("--concurrency", "cannot use %d; give the number of parallel S3 requests (1 or more, default %d)", f.concurrency, webpublish.DefaultConcurrency)
	}
	policy := webpublish.DefaultPolicy()
	policy.HashedCacheControl = f.hashedCacheControl
	policy.EntryCacheControl = f.entryCacheControl
	policy.OtherCacheControl = f.otherCacheControl
	if err := policy.Validate(); err != nil {
		flags.add("--*-cache-control", "%v", err)
	}
	return policy, flags
}

// options are the library's options once the environment's resources are known.
func (f *publishWebFlags) options(policy webpublish.Policy, res *config.Resources, waitTimeout time.Duration, log io.Writer) webpublish.Options {
	keep := f.keep
	if keep == 0 {
		keep = -1 // the library's "none"; its 0 means the default
	}
	return webpublish.Options{
		Dir:            f.dir,
		Bucket:         res.WebBucket,
		DistributionID: res.DistributionID,
		Version:        f.version,
		Keep:           keep,
		Concurrency:    f.concurrency,
		Policy:         policy,
		Verify:         f.verify,
		NoWait:         f.noWait,
		WaitTimeout:    waitTimeout,
		Log:            log,
	}
}

func newPublishWebCmd() *cobra.Command {
	f := &publishWebFlags{}
	cmd := &cobra.Command{
		Use:   "publish-web --dir BUILD_DIR [--dry-run] [--verify] [--no-wait] [--keep N]",
		Short: "Publish the environment's web bundle to S3 and invalidate CloudFront (docs/web.md)",
		Long: `Uploads the files of BUILD_DIR that differ from the live release's record,
content-hashed assets first and entry points (index.html, manifests, service worker)
last; records the release under _releases/; keeps the files of the previous --keep
releases for open browser sessions and deletes older ones; invalidates the changed
non-hashed paths in CloudFront and waits for the invalidation. --verify also compares
the whole bucket with the records and repairs what was deleted or overwritten out of
band.

The bucket and distribution come from the environment's Terraform outputs
(web_bucket_name, cloudfront_distribution_id) or KM_WEB_BUCKET / KM_DISTRIBUTION_ID.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			out := cmd.OutOrStdout()
			// The bundle and every flag are checked with the configuration, before any
			// AWS work, so all of it is reported in one round.
			policy, flags := f.check()
			env, err := loadDeployEnv(ctx, config.Requirement{Resources: webpublish.Needs, Flags: flags})
			if err != nil {
				return err
			}
			opts := f.options(policy, env.res, env.cfg.Timeouts.WebInvalidation, out)
			s3c, cf := webpublish.NewClients(env.aws, env.s3PathStyle(), opts.Concurrency)
			plan, err := webpublish.MakePlan(ctx, s3c, opts)
			if err != nil {
				return err
			}
			if f.dryRun {
				plan.Print(out)
				fmt.Fprintln(out, "dry run: nothing was changed")
				return nil
			}
			if plan.Check != "" {
				fmt.Fprintf(out, "checked the bucket against its release records (%s)\n", plan.Check)
			}
			fmt.Fprintf(out, "publishing release %s to s3://%s: %d uploads, %d unchanged, %d deletes, %d invalidation paths\n",
				plan.Version, opts.Bucket, len(plan.Uploads), plan.Unchanged, len(plan.Deletes), len(plan.Invalidations))
			res, err := plan.Apply(ctx, s3c, cf)
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "release %s is live: %d uploaded (%.1f MB), %d unchanged, %d pruned",
				res.Version, res.Uploaded, float64(res.UploadedBytes)/1e6, res.Unchanged, res.Deleted)
			if res.InvalidationID != "" {
				fmt.Fprintf(out, ", invalidation %s %s", res.InvalidationID, res.InvalidationStatus)
			}
			fmt.Fprintf(out, " in %s\n", res.Duration.Round(time.Millisecond))
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.dir, "dir", "", "the web build output directory (holds index.html)")
	fl.BoolVar(&f.dryRun, "dry-run", false, "print what would be uploaded, deleted and invalidated; change nothing")
	fl.BoolVar(&f.verify, "verify", false, "compare the whole bucket with the release records and repair what was changed out of band")
	fl.BoolVar(&f.noWait, "no-wait", false, "do not wait for the CloudFront invalidation to complete")
	fl.IntVar(&f.keep, "keep", webpublish.DefaultKeep, "previous releases whose files stay for open sessions (0 deletes old files at once)")
	fl.StringVar(&f.version, "version", "", "release version recorded in the manifest (default: the bundle's content digest)")
	fl.IntVar(&f.concurrency, "concurrency", webpublish.DefaultConcurrency, "parallel S3 requests")
	fl.StringVar(&f.hashedCacheControl, "hashed-cache-control", webpublish.DefaultHashedCacheControl, "Cache-Control of content-hashed assets")
	fl.StringVar(&f.entryCacheControl, "entry-cache-control", webpublish.DefaultEntryCacheControl, "Cache-Control of entry points (index.html, manifests, service worker)")
	fl.StringVar(&f.otherCacheControl, "other-cache-control", webpublish.DefaultOtherCacheControl, "Cache-Control of other files whose names carry no hash")
	return cmd
}
