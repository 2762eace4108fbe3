package terraform

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	tfjson "github.com/hashicorp/terraform-json"
)

// Action is what a plan does to one resource.
type Action string

const (
	ActionCreate  Action = "create"
	ActionUpdate  Action = "update"
	ActionReplace Action = "replace"
	ActionDestroy Action = "destroy"
	ActionRead    Action = "read"
	ActionNoOp    Action = "no-op"
)

func actionOf(a tfjson.Actions) Action {
	switch {
	case a.Replace():
		return ActionReplace
	case a.Create():
		return ActionCreate
	case a.Delete():
		return ActionDestroy
	case a.Update():
		return ActionUpdate
	case a.Read():
		return ActionRead
	default:
		return ActionNoOp
	}
}

// Change is one resource's planned change.
type Change struct {
	Address string
	Type    string
	Name    string
	Action  Action
	// Attributes are the changed top-level attributes, values rendered with
	// secrets as (sensitive).
	Attributes []AttributeChange
}

// AttributeChange is one changed attribute.
type AttributeChange struct {
	Name          string
	Before, After string
}

// OutputChange is one changed output.
type OutputChange struct {
	Name   string
	Action Action
	Value  string // (sensitive) for sensitive outputs
}

// Summary is the reviewable gist of a plan.
type Summary struct {
	Changes []Change // resources the plan changes (no-ops left out)
	// Drift are resources changed outside Terraform since the last apply in a way
	// that matters: Terraform's relevant_attributes name them as contributing to the
	// plan. Refresh-only differences (computed attributes, rules kept in separate
	// resources, ignored attributes) are left out, as Terraform's own output does.
	Drift   []Change
	Outputs []OutputChange // outputs the plan changes
}

// Sensitive is how secret values are shown.
const Sensitive = "(sensitive)"

const unknown = "(known after apply)"

// Summarize reduces a plan (terraform show -json) to its changes.
func Summarize(p *tfjson.Plan) *Summary {
	s := &Summary{}
	secrets := sensitiveValues(p)
	for _, rc := range p.ResourceChanges {
		if c, ok := changeOf(rc, secrets); ok {
			s.Changes = append(s.Changes, c)
		}
	}
	relevant := map[string]bool{}
	for _, ra := range p.RelevantAttributes {
		relevant[ra.Resource] = true
	}
	for _, rc := range p.ResourceDrift {
		if !relevant[rc.Address] {
			continue
		}
		if c, ok := changeOf(rc, secrets); ok {
			s.Drift = append(s.Drift, c)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(p.OutputChanges)) {
		oc := p.OutputChanges[name]
		a := actionOf(oc.Actions)
		if a == ActionNoOp {
			continue
		}
		val := render(oc.After)
		if isSensitive(oc.AfterSensitive) || isSensitive(oc.BeforeSensitive) {
			val = Sensitive
		} else if isSensitive(oc.AfterUnknown) {
			val = unknown
		}
		s.Outputs = append(s.Outputs, OutputChange{Name: name, Action: a, Value: val})
	}
	return s
}

// sensitiveValues collects every value the plan marks sensitive somewhere (sensitive
// variables, sensitive attributes and outputs): Terraform does not mark values
// derived from them in every place (terraform_data.output, for one), so a value
// sensitive anywhere is hidden everywhere in the summary.
func sensitiveValues(p *tfjson.Plan) map[string]bool {
	vals := map[string]bool{}
	add := func(v any) {
		if str, ok := v.(string); ok && str != "" {
			vals[render(str)] = true
		}
	}
	if p.Config != nil && p.Config.RootModule != nil {
		for name, v := range p.Config.RootModule.Variables {
			if v.Sensitive && p.Variables[name] != nil {
				add(p.Variables[name].Value)
			}
		}
	}
	collect := func(val, marks any) {
		m, _ := val.(map[string]any)
		sm, _ := marks.(map[string]any)
		for k, v := range m {
			if isSensitive(sm[k]) {
				add(v)
			}
		}
	}
	for _, rc := range slices.Concat(p.ResourceChanges, p.ResourceDrift) {
		if rc.Change != nil {
			collect(rc.Change.Before, rc.Change.BeforeSensitive)
			collect(rc.Change.After, rc.Change.AfterSensitive)
		}
	}
	for _, oc := range p.OutputChanges {
		if isSensitive(oc.BeforeSensitive) {
			add(oc.Before)
		}
		if isSensitive(oc.AfterSensitive) {
			add(oc.After)
		}
	}
	return vals
}

func changeOf(rc *tfjson.ResourceChange, secrets map[string]bool) (Change, bool) {
	if rc.Change == nil {
		return Change{}, false
	}
	a := actionOf(rc.Change.Actions)
	if a == ActionNoOp || a == ActionRead {
		return Change{}, false
	}
	c := Change{Address: rc.Address, Type: rc.Type, Name: rc.Name, Action: a}
	if a == ActionUpdate || a == ActionReplace {
		c.Attributes = attributeChanges(rc.Change, secrets)
	}
	return c, true
}

// attributeChanges compares top-level attributes, hiding values Terraform marks
// sensitive (before_sensitive / after_sensitive) and unknown ones.
func attributeChanges(ch *tfjson.Change, secrets map[string]bool) []AttributeChange {
	before, _ := ch.Before.(map[string]any)
	after, _ := ch.After.(map[string]any)
	bs, _ := ch.BeforeSensitive.(map[string]any)
	as, _ := ch.AfterSensitive.(map[string]any)
	au, _ := ch.AfterUnknown.(map[string]any)
	names := map[string]bool{}
	for k := range before {
		names[k] = true
	}
	for k := range after {
		names[k] = true
	}
	for k := range au {
		names[k] = true
	}
	var out []AttributeChange
	for _, k := range slices.Sorted(maps.Keys(names)) {
		b, a := render(before[k]), render(after[k])
		if isSensitive(au[k]) {
			a = unknown
		}
		if b == a {
			continue
		}
		if isSensitive(bs[k]) || isSensitive(as[k]) || secrets[b] || secrets[a] {
			// Sensitive on either side: show that it changes, never the values.
			b, a = Sensitive, Sensitive
		}
		out = append(out, AttributeChange{Name: k, Before: b, After: a})
	}
	return out
}

// isSensitive reports whether a *_sensitive / after_unknown marker is true anywhere.
func isSensitive(v any) bool {
	switch x := v.(type) {
	case bool:
		return x
	case map[string]any:
		for _, e := range x {
			if isSensitive(e) {
				return true
			}
		}
	case []any:
		for _, e := range x {
			if isSensitive(e) {
				return true
			}
		}
	}
	return false
}

func render(v any) string {
	if v == nil {
		return "null"
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	s := string(b)
	if len(s) > 80 {
		s = s[:77] + "..."
	}
	return s
}

// Counts returns the numbers of resources to add, change, replace and destroy.
func (s *Summary) Counts() (add, change, replace, destroy int) {
	for _, c := range s.Changes {
		switch c.Action {
		case ActionCreate:
			add++
		case ActionUpdate:
			change++
		case ActionReplace:
			replace++
		case ActionDestroy:
			destroy++
		}
	}
	return
}

// Empty reports a plan without resource or output changes.
func (s *Summary) Empty() bool { return len(s.Changes) == 0 && len(s.Outputs) == 0 }

// Addresses lists the changed and drifted resource addresses, without duplicates.
func (s *Summary) Addresses() []string {
	seen := map[string]bool{}
	var out []string
	for _, c := range slices.Concat(s.Drift, s.Changes) {
		if !seen[c.Address] {
			seen[c.Address] = true
			out = append(out, c.Address)
		}
	}
	return out
}

var symbols = map[Action]string{ActionCreate: "+", ActionUpdate: "~", ActionReplace: "-/+", ActionDestroy: "-"}

// Write prints the summary, one line per resource address.
func (s *Summary) Write(w io.Writer) {
	var b strings.Builder
	if len(s.Drift) > 0 {
		b.WriteString("Changed outside Terraform:\n")
		writeChanges(&b, s.Drift)
	}
	add, change, replace, destroy := s.Counts()
	fmt.Fprintf(&b, "Plan: %d to add, %d to change, %d to replace, %d to destroy.\n", add, change, replace, destroy)
	writeChanges(&b, s.Changes)
	if len(s.Outputs) > 0 {
		b.WriteString("Outputs:\n")
		for _, o := range s.Outputs {
			fmt.Fprintf(&b, "  %-3s output.%s = %s\n", symbols[o.Action], o.Name, o.Value)
		}
	}
	io.WriteString(w, b.String())
}

func writeChanges(b *strings.Builder, changes []Change) {
	for _, c := range changes {
		fmt.Fprintf(b, "  %-3s %s (%s)\n", symbols[c.Action], c.Address, c.Action)
		for _, a := range c.Attributes {
			fmt.Fprintf(b, "        %s: %s -> %s\n", a.Name, a.Before, a.After)
		}
	}
}
