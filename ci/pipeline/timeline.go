package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// Skip is returned by a step that deliberately did nothing, with the reason.
type Skip struct{ Reason string }

func (s *Skip) Error() string { return "skipped: " + s.Reason }

// Step is one named stage of a release.
type Step struct {
	Name string
	Run  func(ctx context.Context) error
}

// StepResult is how a step ended.
type StepResult struct {
	Name     string
	Duration time.Duration
	Outcome  string // ok, failed, skipped: reason, not run
}

// Timeline is the record of a release, printed at its end.
type Timeline []StepResult

// RunSteps runs steps in order, stopping at the first failure; a Skip is recorded and the
// next step runs. Progress lines go to log.
func RunSteps(ctx context.Context, log io.Writer, steps []Step) (Timeline, error) {
	var tl Timeline
	for i, s := range steps {
		fmt.Fprintf(log, "==> %s\n", s.Name)
		start := time.Now()
		err := s.Run(ctx)
		res := StepResult{Name: s.Name, Duration: time.Since(start).Round(time.Millisecond)}
		var skip *Skip
		switch {
		case err == nil:
			res.Outcome = "ok"
		case errors.As(err, &skip):
			res.Outcome = "skipped: " + skip.Reason
		default:
			res.Outcome = "failed"
			tl = append(tl, res)
			for _, rest := range steps[i+1:] {
				tl = append(tl, StepResult{Name: rest.Name, Outcome: "not run"})
			}
			fmt.Fprintf(log, "<== %s failed after %s\n", s.Name, res.Duration)
			return tl, fmt.Errorf("%w\n\n%s", err, tl)
		}
		fmt.Fprintf(log, "<== %s %s in %s\n", s.Name, res.Outcome, res.Duration)
		tl = append(tl, res)
	}
	return tl, nil
}

// String renders the timeline as a table.
func (tl Timeline) String() string {
	var b strings.Builder
	w := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "STEP\tDURATION\tOUTCOME")
	for _, r := range tl {
		d := "-"
		if r.Outcome != "not run" {
			d = r.Duration.String()
		}
		fmt.Fprintf(w, "%s\t%s\t%s\n", r.Name, d, r.Outcome)
	}
	w.Flush()
	return b.String()
}
