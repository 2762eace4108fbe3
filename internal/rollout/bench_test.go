package rollout_test

import (
	"testing"
	"time"

	"github.com/knowmetools/km-release/internal/rollout"
	"github.com/knowmetools/km-release/testrig/envfixture"
	"github.com/knowmetools/km-release/testrig/envfixture/envtest"
)

// BenchmarkEndDetection measures how long after CodeDeploy records a deployment's end
// (its completeTime) the waiter, with the default poll settings, returns. The SDK's
// own waiter would take up to 15 s; the goal is about 2 s at most.
func BenchmarkEndDetection(b *testing.B) {
	env := envtest.Setup(b, envfixture.Options{NoMigrateHook: true})
	ctx := testContext(b)
	images := make([]string, 0, 2)
	for _, tag := range []string{"a", "b"} {
		img, err := env.PushImage(ctx, tag)
		if err != nil {
			b.Fatal(err)
		}
		images = append(images, img)
	}
	res := env.Resources
	d := &rollout.Deployer{Clients: rollout.NewClients(env.AWS), Resources: &res}
	var total, worst time.Duration
	n := 0
	for i := 0; b.Loop(); i++ {
		r, err := d.Rollout(ctx, rollout.Options{Image: images[i%2], Timeout: time.Minute})
		if err != nil {
			b.Fatal(err)
		}
		if r.CompleteTime.IsZero() {
			b.Fatal("the deployment has no completeTime to measure from")
		}
		lat := r.Detected.Sub(r.CompleteTime)
		total += lat
		worst = max(worst, lat)
		n++
	}
	b.ReportMetric(float64(total.Milliseconds())/float64(n), "ms-detect/op")
	b.ReportMetric(float64(worst.Milliseconds()), "ms-detect-max")
}
