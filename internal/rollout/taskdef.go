package rollout

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// readOnlyTaskDefinitionFields are the fields DescribeTaskDefinition returns that
// RegisterTaskDefinition does not accept. A test checks this list against the SDK so a
// new SDK field is either copied or knowingly dropped.
var readOnlyTaskDefinitionFields = []string{
	"Compatibilities", "DeleteRequestedAt", "DeregisteredAt", "RegisteredAt", "RegisteredBy",
	"RequiresAttributes", "Revision", "Status", "TaskDefinitionArn",
}

// DeriveTaskDefinition builds the registration of a new revision of current in which
// only container's image is replaced. Everything else is kept as it is, tags included
// (except the aws: ones, which AWS reserves).
func DeriveTaskDefinition(current *ecstypes.TaskDefinition, tags []ecstypes.Tag, container, image string) (*ecs.RegisterTaskDefinitionInput, error) {
	if current == nil {
		return nil, fmt.Errorf("derive task definition: no current task definition")
	}
	in := registrationOf(current, tags)
	var names []string
	for i := range in.ContainerDefinitions {
		name := aws.ToString(in.ContainerDefinitions[i].Name)
		if name == container {
			in.ContainerDefinitions[i].Image = aws.String(image)
			return in, nil
		}
		names = append(names, name)
	}
	return nil, fmt.Errorf("task definition %s has no container %q (it has: %s); check the container_name output of the infrastructure",
		aws.ToString(current.TaskDefinitionArn), container, strings.Join(names, ", "))
}

// registrationOf is the registration that would recreate current as it is: every field
// RegisterTaskDefinition accepts, none of the read-only ones.
func registrationOf(current *ecstypes.TaskDefinition, tags []ecstypes.Tag) *ecs.RegisterTaskDefinitionInput {
	// A copy, so replacing an image never alters the caller's description.
	containers := make([]ecstypes.ContainerDefinition, len(current.ContainerDefinitions))
	copy(containers, current.ContainerDefinitions)
	var keptTags []ecstypes.Tag
	for _, t := range tags {
		if !strings.HasPrefix(aws.ToString(t.Key), "aws:") {
			keptTags = append(keptTags, t)
		}
	}
	return &ecs.RegisterTaskDefinitionInput{
		Family:                        current.Family,
		ContainerDefinitions:          containers,
		Cpu:                           current.Cpu,
		EnableFaultInjection:          current.EnableFaultInjection,
		EphemeralStorage:              current.EphemeralStorage,
		ExecutionRoleArn:              current.ExecutionRoleArn,
		InferenceAccelerators:         current.InferenceAccelerators,
		IpcMode:                       current.IpcMode,
		Memory:                        current.Memory,
		NetworkMode:                   current.NetworkMode,
		PidMode:                       current.PidMode,
		PlacementConstraints:          current.PlacementConstraints,
		ProxyConfiguration:            current.ProxyConfiguration,
		RequiresCompatibilities:       current.RequiresCompatibilities,
		RuntimePlatform:               current.RuntimePlatform,
		Tags:                          keptTags,
		TaskRoleArn:                   current.TaskRoleArn,
		TrustedExecutionConfiguration: current.TrustedExecutionConfiguration,
		Volumes:                       current.Volumes,
	}
}

// Change is one difference between two task definitions, at a JSON path such as
// containerDefinitions[0].image. Old or New is empty when the value was added or removed.
type Change struct {
	Path string
	Old  string
	New  string
}

// DiffTaskDefinition compares what current registers as with the derived registration,
// ignoring the read-only fields, so a dry run shows exactly what would change.
func DiffTaskDefinition(current *ecstypes.TaskDefinition, currentTags []ecstypes.Tag, next *ecs.RegisterTaskDefinitionInput) ([]Change, error) {
	oldFlat, err := flatten(registrationOf(current, currentTags))
	if err != nil {
		return nil, err
	}
	newFlat, err := flatten(next)
	if err != nil {
		return nil, err
	}
	var changes []Change
	for path, o := range oldFlat {
		if n, ok := newFlat[path]; !ok || n != o {
			changes = append(changes, Change{Path: path, Old: o, New: newFlat[path]})
		}
	}
	for path, n := range newFlat {
		if _, ok := oldFlat[path]; !ok {
			changes = append(changes, Change{Path: path, New: n})
		}
	}
	sort.Slice(changes, func(i, j int) bool { return changes[i].Path < changes[j].Path })
	return changes, nil
}

// FormatChanges renders changes one per line, "path: old -> new".
func FormatChanges(changes []Change) string {
	if len(changes) == 0 {
		return "  (no change)\n"
	}
	var b strings.Builder
	for _, c := range changes {
		switch {
		case c.Old == "":
			fmt.Fprintf(&b, "  + %s: %s\n", c.Path, c.New)
		case c.New == "":
			fmt.Fprintf(&b, "  - %s: %s\n", c.Path, c.Old)
		default:
			fmt.Fprintf(&b, "  ~ %s: %s -> %s\n", c.Path, c.Old, c.New)
		}
	}
	return b.String()
}

// flatten turns v's JSON form into path → scalar, so nested changes are reported at
// the leaf that changed rather than as a whole container definition.
func flatten(v any) (map[string]string, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode task definition: %w", err)
	}
	var tree any
	if err := json.Unmarshal(raw, &tree); err != nil {
		return nil, fmt.Errorf("decode task definition: %w", err)
	}
	out := map[string]string{}
	var walk func(prefix string, node any)
	walk = func(prefix string, node any) {
		switch n := node.(type) {
		case map[string]any:
			for k, child := range n {
				key := lowerFirst(k)
				if prefix != "" {
					key = prefix + "." + key
				}
				walk(key, child)
			}
		case []any:
			for i, child := range n {
				walk(fmt.Sprintf("%s[%d]", prefix, i), child)
			}
		case nil:
		default:
			enc, _ := json.Marshal(n)
			out[prefix] = string(enc)
		}
	}
	walk("", tree)
	return out, nil
}

// lowerFirst maps the SDK's Go field names to the API's JSON names (Image → image).
func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}
