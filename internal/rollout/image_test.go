package rollout

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/knowmetools/km-release/internal/config"
)

func TestParseImage(t *testing.T) {
	for _, tc := range []struct {
		ref    string
		pinned bool
	}{
		{"123456789012.dkr.ecr.us-east-1.amazonaws.com/km-api@sha256:" + strings.Repeat("a", 64), true},
		{"123456789012.dkr.ecr.us-east-1.amazonaws.com/km-api:1.2.3", false},
		{"127.0.0.1:5000/km/api:abc@sha256:" + strings.Repeat("b", 64), true},
		{"127.0.0.1:5000/km/api", false},
	} {
		ref, err := ParseImage(tc.ref)
		if err != nil {
			t.Fatalf("%s: %v", tc.ref, err)
		}
		if ref.Pinned() != tc.pinned {
			t.Errorf("%s: pinned = %v", tc.ref, ref.Pinned())
		}
	}
	if _, err := ParseImage("UPPER/Case::bad"); err == nil {
		t.Error("bad reference accepted")
	}
	if !isLoopbackRegistry("127.0.0.1:5000/x") || !isLoopbackRegistry("localhost:1/x") || isLoopbackRegistry("example.com/x") {
		t.Error("isLoopbackRegistry")
	}
}

func TestPlanRefusesTagWithoutAllowTag(t *testing.T) {
	d := &Deployer{Resources: &config.Resources{}}
	_, err := d.Plan(context.Background(), Options{Image: "registry.example/km/api:latest"})
	var cerr *ConfigError
	if !errors.As(err, &cerr) || !errors.Is(err, ErrNotPinned) || !strings.Contains(err.Error(), "--allow-tag") {
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
	if !sameTaskDefinition("arn:aws:ecs:us-east-1:1:task-definition/km-api:12", "km-api:12") {
		t.Fatal("sameTaskDefinition")
	}
}
