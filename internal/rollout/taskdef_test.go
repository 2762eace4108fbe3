package rollout

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

func sampleTaskDefinition() *ecstypes.TaskDefinition {
	return &ecstypes.TaskDefinition{
		TaskDefinitionArn:       aws.String("arn:aws:ecs:us-east-1:123456789012:task-definition/api:7"),
		Family:                  aws.String("api"),
		Revision:                7,
		Status:                  ecstypes.TaskDefinitionStatusActive,
		Compatibilities:         []ecstypes.Compatibility{ecstypes.CompatibilityEc2, ecstypes.CompatibilityFargate},
		RequiresAttributes:      []ecstypes.Attribute{{Name: aws.String("com.amazonaws.ecs.capability.logging-driver.awslogs")}},
		RequiresCompatibilities: []ecstypes.Compatibility{ecstypes.CompatibilityFargate},
		RegisteredBy:            aws.String("arn:aws:iam::123456789012:user/ci"),
		NetworkMode:             ecstypes.NetworkModeAwsvpc,
		Cpu:                     aws.String("256"),
		Memory:                  aws.String("512"),
		ExecutionRoleArn:        aws.String("arn:aws:iam::123456789012:role/exec"),
		TaskRoleArn:             aws.String("arn:aws:iam::123456789012:role/task"),
		ContainerDefinitions: []ecstypes.ContainerDefinition{
			{Name: aws.String("api"), Image: aws.String("repo/api@sha256:aaa"), Essential: aws.Bool(true),
				Secrets:     []ecstypes.Secret{{Name: aws.String("DATABASE_PASSWORD"), ValueFrom: aws.String("arn:aws:secretsmanager:x")}},
				Environment: []ecstypes.KeyValuePair{{Name: aws.String("DJANGO_ENV"), Value: aws.String("staging")}}},
			{Name: aws.String("sidecar"), Image: aws.String("repo/sidecar:1")},
		},
	}
}

func TestDeriveReplacesOnlyTheImage(t *testing.T) {
	cur := sampleTaskDefinition()
	tags := []ecstypes.Tag{{Key: aws.String("app"), Value: aws.String("km-api")}, {Key: aws.String("aws:cloudformation:stack-name"), Value: aws.String("x")}}
	in, err := DeriveTaskDefinition(cur, tags, "api", "repo/api@sha256:bbb")
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(in.ContainerDefinitions[0].Image); got != "repo/api@sha256:bbb" {
		t.Errorf("api image = %s", got)
	}
	if got := aws.ToString(in.ContainerDefinitions[1].Image); got != "repo/sidecar:1" {
		t.Errorf("sidecar image changed to %s", got)
	}
	if got := aws.ToString(cur.ContainerDefinitions[0].Image); got != "repo/api@sha256:aaa" {
		t.Errorf("the current description was modified: %s", got)
	}
	if len(in.Tags) != 1 || aws.ToString(in.Tags[0].Key) != "app" {
		t.Errorf("tags = %+v, want only app (aws: tags are reserved)", in.Tags)
	}
	if aws.ToString(in.TaskRoleArn) == "" || aws.ToString(in.ExecutionRoleArn) == "" || in.NetworkMode != ecstypes.NetworkModeAwsvpc ||
		len(in.ContainerDefinitions[0].Secrets) != 1 || aws.ToString(in.Cpu) != "256" {
		t.Errorf("fields lost: %+v", in)
	}
	changes, err := DiffTaskDefinition(cur, tags, in)
	if err != nil {
		t.Fatal(err)
	}
	want := []Change{{Path: "containerDefinitions[0].image", Old: `"repo/api@sha256:aaa"`, New: `"repo/api@sha256:bbb"`}}
	if !reflect.DeepEqual(changes, want) {
		t.Errorf("diff = %+v, want %+v", changes, want)
	}
	if s := FormatChanges(changes); !strings.Contains(s, `~ containerDefinitions[0].image: "repo/api@sha256:aaa" -> "repo/api@sha256:bbb"`) {
		t.Errorf("formatted diff:\n%s", s)
	}
}

func TestDeriveUnknownContainer(t *testing.T) {
	_, err := DeriveTaskDefinition(sampleTaskDefinition(), nil, "web", "x@sha256:1")
	if err == nil || !strings.Contains(err.Error(), `no container "web"`) || !strings.Contains(err.Error(), "api, sidecar") {
		t.Fatalf("err = %v", err)
	}
}

// TestRegistrationCoversTheSDK fails when the SDK grows a task definition field that
// DeriveTaskDefinition neither copies nor knows to be read-only.
func TestRegistrationCoversTheSDK(t *testing.T) {
	input := map[string]bool{}
	for f := range reflect.TypeFor[ecs.RegisterTaskDefinitionInput]().Fields() {
		if f.IsExported() {
			input[f.Name] = true
		}
	}
	for f := range reflect.TypeFor[ecstypes.TaskDefinition]().Fields() {
		if !f.IsExported() {
			continue
		}
		ro := slices.Contains(readOnlyTaskDefinitionFields, f.Name)
		switch {
		case input[f.Name] && ro:
			t.Errorf("%s is registrable but listed read-only", f.Name)
		case !input[f.Name] && !ro:
			t.Errorf("TaskDefinition.%s is neither registrable nor listed read-only: decide and update taskdef.go", f.Name)
		}
	}
	// Every registrable field must be carried over: fill each one and compare.
	td := sampleTaskDefinition()
	in := registrationOf(td, nil)
	iv, tv := reflect.ValueOf(in).Elem(), reflect.ValueOf(td).Elem()
	for name := range input {
		if name == "Tags" {
			continue
		}
		src := tv.FieldByName(name)
		if !src.IsValid() {
			t.Errorf("RegisterTaskDefinitionInput.%s has no TaskDefinition counterpart", name)
			continue
		}
		if !reflect.DeepEqual(src.Interface(), iv.FieldByName(name).Interface()) {
			t.Errorf("%s not copied", name)
		}
	}
	// Fields unset in the sample are checked by setting them.
	for f := range reflect.TypeFor[ecs.RegisterTaskDefinitionInput]().Fields() {
		if !f.IsExported() || f.Name == "Tags" || f.Name == "ContainerDefinitions" {
			continue
		}
		fresh := sampleTaskDefinition()
		field := reflect.ValueOf(fresh).Elem().FieldByName(f.Name)
		field.Set(nonZero(t, field.Type()))
		got := reflect.ValueOf(registrationOf(fresh, nil)).Elem().FieldByName(f.Name)
		if got.IsZero() {
			t.Errorf("%s is dropped by registrationOf", f.Name)
		}
	}
}

// nonZero returns some non-zero value of type typ.
func nonZero(t *testing.T, typ reflect.Type) reflect.Value {
	switch typ.Kind() {
	case reflect.Pointer:
		v := reflect.New(typ.Elem())
		if typ.Elem().Kind() == reflect.Struct {
			return v // a pointer to a zero struct is already non-nil
		}
		v.Elem().Set(nonZero(t, typ.Elem()))
		return v
	case reflect.Slice:
		return reflect.MakeSlice(typ, 1, 1)
	case reflect.String:
		return reflect.ValueOf("x").Convert(typ)
	case reflect.Bool:
		return reflect.ValueOf(true)
	case reflect.Int32:
		return reflect.ValueOf(int32(1))
	}
	t.Fatalf("nonZero: unhandled %s", typ)
	return reflect.Value{}
}
