package lambdaenv

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sethvargo/go-envconfig"
)

type cfg struct {
	Task
	Command string `env:"CMD,default=migrate"`
}

func (c *cfg) Check() error { return c.Task.Check() }

func TestLoadDefaultsAndLists(t *testing.T) {
	var c cfg
	err := Load(context.Background(), envconfig.MapLookuper(map[string]string{
		"CLUSTER": "km", "SUBNETS": "subnet-a, subnet-b,", "SECURITY_GROUPS": "sg-1", "CONTAINER_NAME": "api",
	}), &c)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.Subnets, []string{"subnet-a", "subnet-b"}) || c.AssignPublicIP || c.DeadlineMargin != 20*time.Second ||
		c.Poll != 2*time.Second || c.LogLines != 30 || c.Command != "migrate" {
		t.Errorf("config %+v", c)
	}
	in := c.RunInput("td:1", []string{"migrate"}, "d-1", "migrate:d-1", "d-1")
	if _, err := in.Build(); err != nil || in.Cluster != "km" || in.StartedBy != "d-1" {
		t.Errorf("run input %+v: %v", in, err)
	}
}

func TestLoadSaysWhatToFix(t *testing.T) {
	var c cfg
	err := Load(context.Background(), envconfig.MapLookuper(map[string]string{"CLUSTER": "km"}), &c)
	var ce *ConfigError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "SUBNETS") || !strings.Contains(err.Error(), "environment variables") {
		t.Errorf("missing SUBNETS: %v", err)
	}
	err = Load(context.Background(), envconfig.MapLookuper(map[string]string{
		"CLUSTER": "km", "SUBNETS": " ", "CONTAINER_NAME": "api", "DEADLINE_MARGIN": "0s", "ASSIGN_PUBLIC_IP": "yes please",
	}), &c)
	if err == nil || !strings.Contains(err.Error(), "ASSIGN_PUBLIC_IP") {
		t.Errorf("bad bool: %v", err)
	}
	err = Load(context.Background(), envconfig.MapLookuper(map[string]string{
		"CLUSTER": "km", "SUBNETS": " ", "CONTAINER_NAME": "api", "DEADLINE_MARGIN": "0s",
	}), &c)
	if err == nil || !strings.Contains(err.Error(), "SUBNETS is empty") || !strings.Contains(err.Error(), "DEADLINE_MARGIN") {
		t.Errorf("empty values: %v", err)
	}
	if _, err := Command("JOBS_COMMAND", "  "); err == nil {
		t.Error("empty command accepted")
	}
}

func TestWaitContextKeepsTheMargin(t *testing.T) {
	task := Task{DeadlineMargin: 5 * time.Second}
	deadline := time.Now().Add(time.Minute)
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	w, wcancel := task.WaitContext(ctx)
	defer wcancel()
	if d, _ := w.Deadline(); !d.Equal(deadline.Add(-5 * time.Second)) {
		t.Errorf("wait deadline %v, want 5s before %v", d, deadline)
	}
	w2, c2 := task.WaitContext(context.Background())
	defer c2()
	if d, ok := w2.Deadline(); !ok || time.Until(d) > NoDeadlineBudget {
		t.Errorf("no invocation deadline: wait deadline %v %v", d, ok)
	}
}
