package webpublish

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/knowmetools/km-release/testrig/awsemu/emutest"
)

const benchFiles = 2000

// BenchmarkPublish compares a publish with `aws s3 sync` (awscli) on the local AWS
// emulation, same bundle, same run: a 2,000-file bundle from scratch, then the same
// bundle again (which must upload nothing). ns/op is kmdeploy's time; x-vs-awscli is
// awscli's time divided by kmdeploy's. No CloudFront work is timed, as sync does none.
func BenchmarkPublish(b *testing.B) {
	aws, err := exec.LookPath("aws")
	if err != nil {
		b.Fatalf("awscli is needed for the comparison (pip install awscli): %v", err)
	}
	dir := benchBundle(b, benchFiles)
	emu := emutest.Start(b)
	s3c, _ := NewClients(emu.AWSConfig(), true, DefaultConcurrency)
	cliEnv := awscliEnv(b, emu.Env())

	type pair struct{ ours, theirs string }
	var buckets []pair
	b.Run("scratch", func(b *testing.B) {
		var ours, theirs time.Duration
		for range b.N {
			b.StopTimer()
			p := pair{emutest.UniqueName(b), emutest.UniqueName(b)}
			buckets = append(buckets, p)
			createBucket(b, s3c, p.ours)
			createBucket(b, s3c, p.theirs)
			theirs += runSync(b, aws, cliEnv, dir, p.theirs)
			b.StartTimer()
			start := time.Now()
			res := benchPublish(b, s3c, dir, p.ours)
			ours += time.Since(start)
			if res.Uploaded != benchFiles {
				b.Fatalf("uploaded %d of %d files", res.Uploaded, benchFiles)
			}
		}
		report(b, ours, theirs, benchFiles)
	})
	b.Run("unchanged", func(b *testing.B) {
		if len(buckets) == 0 { // run alone (-bench Publish/unchanged): set up untimed
			b.StopTimer()
			p := pair{emutest.UniqueName(b), emutest.UniqueName(b)}
			createBucket(b, s3c, p.ours)
			createBucket(b, s3c, p.theirs)
			runSync(b, aws, cliEnv, dir, p.theirs)
			benchPublish(b, s3c, dir, p.ours)
			buckets = append(buckets, p)
			b.StartTimer()
		}
		p := buckets[len(buckets)-1]
		var ours, theirs time.Duration
		for range b.N {
			b.StopTimer()
			theirs += runSync(b, aws, cliEnv, dir, p.theirs)
			b.StartTimer()
			start := time.Now()
			res := benchPublish(b, s3c, dir, p.ours)
			ours += time.Since(start)
			if res.Uploaded != 0 {
				b.Fatalf("re-publish of an unchanged bundle uploaded %d files", res.Uploaded)
			}
		}
		report(b, ours, theirs, 0)
	})
}

func report(b *testing.B, ours, theirs time.Duration, uploads int) {
	b.ReportMetric(theirs.Seconds()/ours.Seconds(), "x-vs-awscli")
	b.ReportMetric(ours.Seconds()/float64(b.N), "kmdeploy-s/op")
	b.ReportMetric(theirs.Seconds()/float64(b.N), "awscli-s/op")
	b.ReportMetric(float64(uploads), "uploads/op")
}

func benchPublish(b *testing.B, s3c *s3.Client, dir, bucket string) *Result {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	res, err := Publish(ctx, s3c, nil, Options{Dir: dir, Bucket: bucket})
	if err != nil {
		b.Fatalf("publish: %v", err)
	}
	return res
}

func createBucket(b *testing.B, s3c *s3.Client, name string) {
	if _, err := s3c.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		b.Fatalf("create bucket %s: %v", name, err)
	}
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

func runSync(b *testing.B, aws string, env []string, dir, bucket string) time.Duration {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, aws, "s3", "sync", "--only-show-errors", dir, "s3://"+bucket)
	cmd.Env = env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	start := time.Now()
	out, err := cmd.CombinedOutput()
	if err != nil {
		b.Fatalf("aws s3 sync: %v\n%s", err, out)
	}
	return time.Since(start)
}

// benchBundle writes a create-react-app-like bundle of n files: hashed chunks, styles,
// media and source maps of a few KB each, plus the entry points.
func benchBundle(b *testing.B, n int) string {
	dir := b.TempDir()
	rng := rand.New(rand.NewPCG(1, 2))
	write := func(key string, size int) {
		p := filepath.Join(dir, filepath.FromSlash(key))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			b.Fatal(err)
		}
		data := make([]byte, size)
		for i := range data {
			data[i] = byte('a' + rng.IntN(26))
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	entries := []string{"index.html", "manifest.json", "asset-manifest.json", "service-worker.js", "robots.txt", "favicon.ico"}
	for _, e := range entries {
		write(e, 1024)
	}
	kinds := []struct{ dir, ext string }{{"js", "chunk.js"}, {"js", "chunk.js.map"}, {"css", "chunk.css"}, {"media", "svg"}, {"media", "woff2"}}
	for i := range n - len(entries) {
		k := kinds[i%len(kinds)]
		write(fmt.Sprintf("static/%s/%d.%08x.%s", k.dir, i, rng.Uint32(), k.ext), 512+rng.IntN(8*1024))
	}
	return dir
}
