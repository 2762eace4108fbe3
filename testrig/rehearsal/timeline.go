package rehearsal

import (
	"errors"
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

// Report prints the timeline (when there is one) to stdout and the outcome of
// program's run: success on stdout, or err on stderr. It returns the program's exit
// code: 0 when every step behaved as expected, 1 when one did not, 2 when the run could
// not start.
func Report(stdout, stderr io.Writer, program string, tl *Timeline, err error, success string) int {
	if tl != nil {
		fmt.Fprintln(stdout, "\nTimeline:")
		tl.Write(stdout)
	}
	switch {
	case err == nil:
		fmt.Fprintln(stdout, "\n"+success)
		return 0
	case tl == nil || errors.Is(err, ErrCannotStart):
		fmt.Fprintf(stderr, "\n%s: %v\n", program, err)
		return 2
	default:
		fmt.Fprintf(stderr, "\n%s: the release did not behave as expected: %v\n", program, err)
		return 1
	}
}
