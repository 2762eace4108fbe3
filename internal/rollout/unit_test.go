package rollout

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/knowmetools/km-release/internal/config"
	"github.com/knowmetools/km-release/internal/imageref"
)

func TestPlanRefusesTagWithoutAllowTag(t *testing.T) {
	d := &Deployer{Resources: &config.Resources{}}
	_, err := d.Plan(context.Background(), Options{Image: "registry.example/km/api:latest"})
	var cerr *ConfigError
	if !errors.As(err, &cerr) || !errors.Is(err, imageref.ErrNotPinned) || !strings.Contains(err.Error(), "--allow-tag") {
		t.Fatalf("err = %v, want a ConfigError naming --allow-tag", err)
	}
}

func TestBackoff(t *testing.T) {
	b := backoff{settings: PollSettings{Interval: time.Second, MaxInterval: 4 * time.Second}.withDefaults()}
	within := func(d, base time.Duration) bool { return d >= base*8/10 && d <= base*12/10 }
	if d := b.next(true); !within(d, time.Second) {
		t.Errorf("first = %s", d)
	}
	if d := b.next(false); !within(d, 2*time.Second) {
		t.Errorf("after one failure = %s", d)
	}
	b.next(false)
	if d := b.next(false); !within(d, 4*time.Second) {
		t.Errorf("capped = %s", d)
	}
	if d := b.next(true); !within(d, time.Second) {
		t.Errorf("after success = %s", d)
	}
}

func TestSplitRevision(t *testing.T) {
	f, r, err := splitRevision("arn:aws:ecs:us-east-1:1:task-definition/km-api:12")
	if err != nil || f != "km-api" || r != 12 {
		t.Fatalf("%s %d %v", f, r, err)
	}
	if _, _, err := splitRevision("km-api"); err == nil {
		t.Fatal("no revision accepted")
	}
}
