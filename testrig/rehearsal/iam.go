package rehearsal

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/knowmetools/km-release/testrig/awsemu"
)

// leastPrivilege checks what the emulation saw: every call of every actor (the
// pipeline, the Lambdas, ECS for the tasks, CodeDeploy) was made with its own role and
// allowed by that role's policy from infra/, and prints, per role, the actions it
// needed and the statements that allowed them.
func (r *run) leastPrivilege(ctx context.Context) (string, error) {
	decisions := r.emu.Decisions()
	usage := Usage(decisions)
	r.say("  the actions each role needed (measured), by the statement that allowed them:")
	writeUsage(r.opts.Out, usage)
	var denied []string
	for _, d := range decisions {
		if !d.Allowed {
			denied = append(denied, fmt.Sprintf("%s: %s on %s", d.Role, d.Action, d.Resource))
		}
	}
	if len(denied) > 0 {
		return "", fmt.Errorf("%d calls were denied: %s", len(denied), strings.Join(denied, "; "))
	}
	return fmt.Sprintf("%d calls by %d roles, every one allowed by its own role's policy", len(decisions), len(usage)), nil
}

// RoleUsage is what one role was seen doing: the actions allowed, by statement Sid.
type RoleUsage map[string][]string

// Usage groups allowed decisions by role and statement.
func Usage(decisions []awsemu.Decision) map[string]RoleUsage {
	out := map[string]RoleUsage{}
	for _, d := range decisions {
		if !d.Allowed {
			continue
		}
		if out[d.Role] == nil {
			out[d.Role] = RoleUsage{}
		}
		sid := d.Sid
		if sid == "" {
			sid = "(no Sid)"
		}
		if !slices.Contains(out[d.Role][sid], d.Action) {
			out[d.Role][sid] = append(out[d.Role][sid], d.Action)
		}
	}
	return out
}

// writeUsage prints the measured needs.
func writeUsage(w io.Writer, usage map[string]RoleUsage) {
	for _, role := range slices.Sorted(maps.Keys(usage)) {
		fmt.Fprintf(w, "  %s\n", role)
		for _, sid := range slices.Sorted(maps.Keys(usage[role])) {
			actions := slices.Sorted(slices.Values(usage[role][sid]))
			fmt.Fprintf(w, "    %-24s %s\n", sid, strings.Join(actions, ", "))
		}
	}
}
