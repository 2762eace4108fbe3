package rollout

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cdtypes "github.com/aws/aws-sdk-go-v2/service/codedeploy/types"
)

// progress prints what changed since the last poll, stamped with the time since the
// wait began, and a heartbeat when nothing changed for a while.
type progress struct {
	w          io.Writer
	id         string
	start      time.Time
	lastOutput time.Time
	seen       map[string]string
	status     cdtypes.DeploymentStatus
	lastHealth time.Time
}

func newProgress(w io.Writer, id string) *progress {
	now := time.Now()
	return &progress{w: w, id: id, start: now, lastOutput: now, seen: map[string]string{}}
}

func (p *progress) say(format string, args ...any) {
	elapsed := time.Since(p.start).Round(time.Second)
	fmt.Fprintf(p.w, "[%6s] %s %s\n", elapsed, p.id, fmt.Sprintf(format, args...))
	p.lastOutput = time.Now()
}

// change prints the line when key's rendering differs from the last one printed.
func (p *progress) change(key, format string, args ...any) {
	line := fmt.Sprintf(format, args...)
	if p.seen[key] == line {
		return
	}
	p.seen[key] = line
	p.say("%s", line)
}

// once prints the line the first time key is seen.
func (p *progress) once(key, format string, args ...any) {
	if _, ok := p.seen["once "+key]; ok {
		return
	}
	p.seen["once "+key] = ""
	p.say(format, args...)
}

func (p *progress) deployment(info *cdtypes.DeploymentInfo) {
	p.status = info.Status
	p.change("status", "status %s", info.Status)
	for _, m := range info.DeploymentStatusMessages {
		p.change("msg "+m, "%s", m)
	}
	if info.Status == cdtypes.DeploymentStatusReady {
		p.once("ready", "replacement ready, waiting for traffic to be rerouted (the group's wait time, or ContinueDeployment)")
	}
	if o := info.DeploymentOverview; o != nil {
		p.change("overview", "targets: %d pending, %d in progress, %d succeeded, %d failed", o.Pending, o.InProgress, o.Succeeded, o.Failed)
	}
	if info.ErrorInformation != nil && aws.ToString(info.ErrorInformation.Message) != "" {
		p.change("error", "error %s: %s", info.ErrorInformation.Code, strings.TrimSpace(aws.ToString(info.ErrorInformation.Message)))
	}
}

func (p *progress) heartbeat(every time.Duration) {
	if time.Since(p.lastOutput) >= every {
		p.say("still %s", p.status)
	}
}
