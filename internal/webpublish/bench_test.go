package webpublish

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront"
	cftypes "github.com/aws/aws-sdk-go-v2/service/cloudfront/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/knowmetools/km-release/testrig/awsemu"
	"github.com/knowmetools/km-release/testrig/awsemu/emutest"
)

// benchRounds is how many paired runs each case makes; medians are reported.
const benchRounds = 5

// BenchmarkPublish compares `kmdeploy publish-web --no-wait` with `aws s3 sync`
// (awscli), both as processes on the same emulation, in paired runs whose order
// alternates (A B, B A, ...), so that the noise of a shared machine falls on both:
//   - scratch: a 2,000-file bundle into empty buckets;
//   - unchanged: the same bundle again (kmdeploy must upload nothing);
//   - changed10: 10 changed files (8 content-hashed chunks renamed, index.html and
//     asset-manifest.json rewritten) in a 2,000- and a 20,000-file bundle, both
//     sizes in the same rounds.
//
// Each case prints the medians, awscli's time over kmdeploy's, kmdeploy's S3 requests
// per run (from the emulation's counters) and both tools' peak memory (max RSS).
func BenchmarkPublish(b *testing.B) {
	h := newBenchHarness(b)
	small := h.site(b, 2000)
	b.Run("scratch", func(b *testing.B) {
		for range b.N {
			var runs []pairedRun
			for r := range benchRounds {
				ours, theirs := h.buckets(b), h.buckets(b)
				runs = append(runs, h.pair(b, r, small, ours, theirs))
			}
			h.report(b, "2,000 files from scratch", runs)
		}
	})
	b.Run("unchanged", func(b *testing.B) {
		ours, theirs := h.buckets(b), h.buckets(b)
		h.pair(b, 0, small, ours, theirs)
		for range b.N {
			var runs []pairedRun
			for r := range benchRounds {
				run := h.pair(b, r, small, ours, theirs)
				if run.ours.calls["PutObject"] != 0 {
					b.Fatalf("re-publishing an unchanged bundle made %d PUTs", run.ours.calls["PutObject"])
				}
				runs = append(runs, run)
			}
			h.report(b, "2,000 files unchanged", runs)
		}
	})
	b.Run("changed10", func(b *testing.B) {
		sites := []*benchSite{small, h.site(b, 20000)}
		buckets := [][2]string{}
		for _, s := range sites {
			ours, theirs := h.buckets(b), h.buckets(b)
			h.pair(b, 0, s, ours, theirs)
			buckets = append(buckets, [2]string{ours, theirs})
		}
		for range b.N {
			runs := make([][]pairedRun, len(sites))
			for r := range benchRounds {
				for i, s := range sites {
					s.change(b, 10)
					runs[i] = append(runs[i], h.pair(b, r+i, s, buckets[i][0], buckets[i][1]))
				}
			}
			small, large := h.report(b, "2,000 files, 10 changed", runs[0]), h.report(b, "20,000 files, 10 changed", runs[1])
			// Per round too: the two sizes ran one after the other, under the same load.
			var ours, theirs []float64
			for r := range runs[0] {
				ours = append(ours, runs[1][r].ours.dur.Seconds()/runs[0][r].ours.dur.Seconds())
				theirs = append(theirs, runs[1][r].theirs.dur.Seconds()/runs[0][r].theirs.dur.Seconds())
			}
			b.Logf("20,000 vs 2,000 files, 10 changed: kmdeploy %.2fx the time (median of rounds %.2fx, rounds %.2f), aws s3 sync %.2fx (median of rounds %.2fx)",
				large.ours.Seconds()/small.ours.Seconds(), medianOf(ours), ours, large.theirs.Seconds()/small.theirs.Seconds(), medianOf(theirs))
			b.ReportMetric(large.ours.Seconds()/small.ours.Seconds(), "kmdeploy-20k/2k")
			b.ReportMetric(large.theirs.Seconds()/large.ours.Seconds(), "x-vs-awscli-20k")
			b.ReportMetric(float64(large.oursRSS)/1024, "kmdeploy-MiB-20k")
		}
		for i := range sites {
			x, err := ReadIndex(context.Background(), h.s3, buckets[i][0])
			if err != nil {
				b.Fatal(err)
			}
			live := x.LiveRelease()
			out, err := h.s3.HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String(buckets[i][0]), Key: aws.String(live.Record)})
			if err != nil {
				b.Fatal(err)
			}
			size := aws.ToInt64(out.ContentLength)
			b.Logf("%d files: the live release's record is %d KB, %d bytes per file", live.Files, size/1024, size/int64(live.Files))
		}
	})
}

type benchHarness struct {
	emu      *awsemu.Emulator
	s3       *s3.Client
	kmdeploy string
	aws      string
	distID   string
	kmEnv    []string
	cliEnv   []string
}

func newBenchHarness(b *testing.B) *benchHarness {
	awsCLI, err := exec.LookPath("aws")
	if err != nil {
		b.Fatalf("awscli is needed for the comparison (pip install awscli): %v", err)
	}
	h := &benchHarness{emu: emutest.Start(b), aws: awsCLI, kmdeploy: filepath.Join(b.TempDir(), "kmdeploy")}
	if out, err := exec.Command("go", "build", "-o", h.kmdeploy, "github.com/knowmetools/km-release/cmd/kmdeploy").CombinedOutput(); err != nil {
		b.Fatalf("build kmdeploy: %v\n%s", err, out)
	}
	h.s3, _ = NewClients(h.emu.AWSConfig(), true, DefaultConcurrency)
	dist, err := cloudfront.NewFromConfig(h.emu.AWSConfig()).CreateDistribution(context.Background(), &cloudfront.CreateDistributionInput{
		DistributionConfig: &cftypes.DistributionConfig{
			CallerReference: aws.String(emutest.UniqueName(b)), Comment: aws.String(""), Enabled: aws.Bool(true),
			Origins: &cftypes.Origins{Quantity: aws.Int32(1), Items: []cftypes.Origin{{
				Id: aws.String("web"), DomainName: aws.String("bench.s3.amazonaws.com"),
				S3OriginConfig: &cftypes.S3OriginConfig{OriginAccessIdentity: aws.String("")},
			}}},
			DefaultCacheBehavior: &cftypes.DefaultCacheBehavior{
				TargetOriginId: aws.String("web"), ViewerProtocolPolicy: cftypes.ViewerProtocolPolicyAllowAll,
				CachePolicyId: aws.String("658327ea-f89d-4fab-a63d-7e88639e58f6"),
			},
		},
	})
	if err != nil {
		b.Fatal(err)
	}
	h.distID = aws.ToString(dist.Distribution.Id)
	base := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + b.TempDir()}
	h.kmEnv = append(append(base, "KM_ENV=bench", "KM_RESOURCES_FROM=env", "KM_DISTRIBUTION_ID="+h.distID), h.emu.Env()...)
	h.cliEnv = awscliEnv(b, h.emu.Env())
	return h
}

// buckets creates an empty bucket.
func (h *benchHarness) buckets(b *testing.B) string {
	name := emutest.UniqueName(b)
	if _, err := h.s3.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		b.Fatalf("create bucket %s: %v", name, err)
	}
	return name
}

// sample is one timed run of a tool.
type sample struct {
	dur   time.Duration
	rssKB int64
	calls map[string]int // S3 requests by operation
}

type pairedRun struct{ ours, theirs sample }

var s3Ops = []string{"GetObject", "HeadObject", "ListObjectsV2", "PutObject", "DeleteObjects"}

// pair runs both tools on the same bundle, kmdeploy first in even rounds.
func (h *benchHarness) pair(b *testing.B, round int, s *benchSite, ours, theirs string) pairedRun {
	var run pairedRun
	kmdeploy := func() {
		env := append(slices.Clone(h.kmEnv), "KM_WEB_BUCKET="+ours)
		run.ours = h.run(b, env, h.kmdeploy, "publish-web", "--dir", s.dir, "--no-wait")
	}
	sync := func() {
		run.theirs = h.run(b, h.cliEnv, h.aws, "s3", "sync", "--only-show-errors", s.dir, "s3://"+theirs)
	}
	if round%2 == 0 {
		kmdeploy()
		sync()
	} else {
		sync()
		kmdeploy()
	}
	return run
}

func (h *benchHarness) run(b *testing.B, env []string, name string, args ...string) sample {
	before := map[string]int{}
	for _, op := range s3Ops {
		before[op] = h.emu.Faults().Calls("s3", op)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	start := time.Now()
	out, err := cmd.CombinedOutput()
	s := sample{dur: time.Since(start), calls: map[string]int{}}
	if err != nil {
		b.Fatalf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, out)
	}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		s.rssKB = ru.Maxrss
	}
	for _, op := range s3Ops {
		s.calls[op] = h.emu.Faults().Calls("s3", op) - before[op]
	}
	return s
}

// summary is the medians of one case.
type summary struct {
	ours, theirs      time.Duration
	oursRSS, theirRSS int64 // KiB, the highest of the runs
}

func (h *benchHarness) report(b *testing.B, name string, runs []pairedRun) summary {
	var ours, theirs []time.Duration
	var sum summary
	for _, r := range runs {
		ours, theirs = append(ours, r.ours.dur), append(theirs, r.theirs.dur)
		sum.oursRSS, sum.theirRSS = max(sum.oursRSS, r.ours.rssKB), max(sum.theirRSS, r.theirs.rssKB)
	}
	sum.ours, sum.theirs = medianOf(ours), medianOf(theirs)
	var ratios []float64
	for _, r := range runs {
		ratios = append(ratios, r.theirs.dur.Seconds()/r.ours.dur.Seconds())
	}
	last := runs[len(runs)-1]
	var calls []string
	for _, op := range s3Ops {
		calls = append(calls, fmt.Sprintf("%s %d", op, last.ours.calls[op]))
	}
	b.Logf("%-26s kmdeploy %7.3fs  aws s3 sync %7.3fs  %5.2fx faster (median of pairs %.2fx)  | kmdeploy S3 requests (last run): %s  | peak RSS kmdeploy %d MiB, aws %d MiB  | runs kmdeploy %v, aws %v",
		name, sum.ours.Seconds(), sum.theirs.Seconds(), sum.theirs.Seconds()/sum.ours.Seconds(), medianOf(ratios),
		strings.Join(calls, ", "), sum.oursRSS/1024, sum.theirRSS/1024, rounded(ours), rounded(theirs))
	return sum
}

func medianOf[T time.Duration | float64](xs []T) T {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

func rounded(ds []time.Duration) []time.Duration {
	out := make([]time.Duration, len(ds))
	for i, d := range ds {
		out[i] = d.Round(time.Millisecond)
	}
	return out
}

// awscliEnv points awscli at the emulation, path-style, with nothing from the user's
// own AWS configuration.
func awscliEnv(b *testing.B, emuEnv []string) []string {
	cfg := filepath.Join(b.TempDir(), "aws-config")
	if err := os.WriteFile(cfg, []byte("[default]\ns3 =\n  addressing_style = path\n"), 0o600); err != nil {
		b.Fatal(err)
	}
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + b.TempDir(), "AWS_CONFIG_FILE=" + cfg, "AWS_SHARED_CREDENTIALS_FILE=/dev/null"}
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "PYENV") || strings.HasPrefix(kv, "PYTHON") {
			env = append(env, kv) // the interpreter awscli runs on
		}
	}
	return append(env, emuEnv...)
}

// benchSite is a create-react-app-like bundle on disk that can be changed in place.
type benchSite struct {
	dir    string
	rng    *rand.Rand
	chunks []string // keys of the JS chunks, renamed when their content changes
	edits  int
}

// site writes a bundle of n files: hashed chunks, styles, media and source maps of a
// few KB each, plus the entry points.
func (h *benchHarness) site(b *testing.B, n int) *benchSite {
	s := &benchSite{dir: b.TempDir(), rng: rand.New(rand.NewPCG(1, uint64(n)))}
	entries := []string{"index.html", "manifest.json", "asset-manifest.json", "service-worker.js", "robots.txt", "favicon.ico"}
	for _, e := range entries {
		s.write(b, e, 1024)
	}
	kinds := []struct{ dir, ext string }{{"js", "chunk.js"}, {"js", "chunk.js.map"}, {"css", "chunk.css"}, {"media", "svg"}, {"media", "woff2"}}
	for i := range n - len(entries) {
		k := kinds[i%len(kinds)]
		key := fmt.Sprintf("static/%s/%d.%08x.%s", k.dir, i, s.rng.Uint32(), k.ext)
		s.write(b, key, 512+s.rng.IntN(8*1024))
		if k.ext == "chunk.js" {
			s.chunks = append(s.chunks, key)
		}
	}
	return s
}

func (s *benchSite) write(b *testing.B, key string, size int) {
	p := filepath.Join(s.dir, filepath.FromSlash(key))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		b.Fatal(err)
	}
	data := make([]byte, size)
	for i := range data {
		data[i] = byte('a' + s.rng.IntN(26))
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		b.Fatal(err)
	}
}

// change makes n files differ as a small code change does: n-2 chunks get new
// content and so new names, and index.html and asset-manifest.json, which name them,
// are rewritten.
func (s *benchSite) change(b *testing.B, n int) {
	for range n - 2 {
		i := s.edits % len(s.chunks)
		s.edits++
		old := s.chunks[i]
		if err := os.Remove(filepath.Join(s.dir, filepath.FromSlash(old))); err != nil {
			b.Fatal(err)
		}
		name, _, _ := strings.Cut(filepath.Base(old), ".")
		s.chunks[i] = fmt.Sprintf("static/js/%s.%08x.chunk.js", name, s.rng.Uint32())
		s.write(b, s.chunks[i], 512+s.rng.IntN(8*1024))
	}
	s.write(b, "index.html", 1024+s.rng.IntN(64))
	s.write(b, "asset-manifest.json", 1024+s.rng.IntN(64))
}
