package rehearsal

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// Step is one line of the timeline.
type Step struct {
	Name     string
	Duration time.Duration
	// Outcome says what the step showed, or why it failed.
	Outcome string
	Failed  bool
}

// Timeline is the rehearsal's record, in order.
type Timeline struct {
	Steps []Step
	Total time.Duration
}

// Failed reports whether any step failed.
func (t *Timeline) Failed() bool {
	for _, s := range t.Steps {
		if s.Failed {
			return true
		}
	}
	return false
}

// Write prints the timeline as a table.
func (t *Timeline) Write(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STEP\tDURATION\tOUTCOME")
	for _, s := range t.Steps {
		mark := "ok"
		if s.Failed {
			mark = "FAILED"
		}
		outcome := strings.ReplaceAll(s.Outcome, "\n", " ")
		if len(outcome) > 160 {
			outcome = outcome[:157] + "..."
		}
		fmt.Fprintf(tw, "%s\t%s\t%s: %s\n", s.Name, s.Duration.Round(10*time.Millisecond), mark, outcome)
	}
	fmt.Fprintf(tw, "total\t%s\t\n", t.Total.Round(10*time.Millisecond))
	tw.Flush()
}
