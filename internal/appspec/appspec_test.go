package appspec

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codedeploy/types"
)

const taskDef = "arn:aws:ecs:us-east-1:111122223333:task-definition/km-api:42"

// The shape of the example in the CodeDeploy AppSpec reference for ECS.
const docYAML = `version: 0.0
Resources:
  - TargetService:
      Type: AWS::ECS::Service
      Properties:
        # the new revision
        TaskDefinition: "arn:aws:ecs:us-east-1:111122223333:task-definition/km-api:42"
        LoadBalancerInfo:
          ContainerName: "api"
          ContainerPort: 8000
        PlatformVersion: "LATEST"
        NetworkConfiguration:
          AwsvpcConfiguration:
            Subnets: ["subnet-1234abcd","subnet-5678abcd"]
            SecurityGroups: ["sg-12345678"]
            AssignPublicIp: "ENABLED"
Hooks:
  - BeforeInstall: "km-migrate"
  - AfterAllowTestTraffic: "arn:aws:lambda:us-east-1:111122223333:function:smoke"
`

const docJSON = `{
  "version": 0.0,
  "Resources": [
    {
      "TargetService": {
        "Type": "AWS::ECS::Service",
        "Properties": {
          "TaskDefinition": "arn:aws:ecs:us-east-1:111122223333:task-definition/km-api:42",
          "LoadBalancerInfo": {"ContainerName": "api", "ContainerPort": 8000}
        }
      }
    }
  ],
  "Hooks": [{"BeforeInstall": "km-migrate"}]
}`

func TestParseDocumentedForms(t *testing.T) {
	y, err := Parse([]byte(docYAML))
	if err != nil {
		t.Fatal(err)
	}
	if y.TaskDefinition() != taskDef {
		t.Errorf("task definition = %q", y.TaskDefinition())
	}
	p := y.Target().Properties
	if p.PlatformVersion != "LATEST" || p.LoadBalancerInfo != (LoadBalancerInfo{"api", 8000}) {
		t.Errorf("properties = %+v", p)
	}
	if got := p.NetworkConfiguration.AwsvpcConfiguration; !reflect.DeepEqual(got.Subnets, []string{"subnet-1234abcd", "subnet-5678abcd"}) || got.AssignPublicIp != "ENABLED" {
		t.Errorf("network = %+v", got)
	}
	wantHooks := []Hook{{BeforeInstall, "km-migrate"}, {AfterAllowTestTraffic, "arn:aws:lambda:us-east-1:111122223333:function:smoke"}}
	if !reflect.DeepEqual(y.Hooks, wantHooks) {
		t.Errorf("hooks = %+v", y.Hooks)
	}
	if fn, ok := y.HookFunction(BeforeInstall); !ok || fn != "km-migrate" {
		t.Errorf("HookFunction = %q %v", fn, ok)
	}

	j, err := Parse([]byte(docJSON))
	if err != nil {
		t.Fatal(err)
	}
	if j.TaskDefinition() != taskDef || j.Version != Version {
		t.Errorf("json spec = %+v", j)
	}
}

func TestVersionQuotedOrBare(t *testing.T) {
	for _, v := range []string{`0.0`, `"0.0"`, `'0.0'`, `0`} {
		doc := strings.Replace(docYAML, "version: 0.0", "version: "+v, 1)
		if _, err := Parse([]byte(doc)); err != nil {
			t.Errorf("version %s: %v", v, err)
		}
	}
	doc := strings.Replace(docYAML, "version: 0.0", "version: 1.0", 1)
	if _, err := Parse([]byte(doc)); err == nil || !strings.Contains(err.Error(), "must be 0.0") {
		t.Errorf("version 1.0 accepted or unclear: %v", err)
	}
}

func TestRenderRoundTrip(t *testing.T) {
	spec, err := New(ECSService{
		TaskDefinition:  taskDef,
		ContainerName:   "api",
		ContainerPort:   8000,
		PlatformVersion: "LATEST",
		Network:         &AwsvpcConfiguration{Subnets: []string{"subnet-a"}, SecurityGroups: []string{"sg-a"}, AssignPublicIp: "DISABLED"},
		Hooks:           []Hook{{BeforeInstall, "km-migrate"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []Format{YAML, JSON} {
		out, err := spec.Render(f)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if f == JSON {
			var m map[string]any
			if err := json.Unmarshal(out, &m); err != nil {
				t.Fatalf("rendered JSON is not JSON: %v\n%s", err, out)
			}
			if !strings.Contains(string(out), `"version": 0.0`) {
				t.Errorf("JSON version not bare 0.0:\n%s", out)
			}
		} else if !strings.HasPrefix(string(out), "version: 0.0\n") || !strings.Contains(string(out), "- BeforeInstall: km-migrate") {
			t.Errorf("YAML not in AppSpec form:\n%s", out)
		}
		back, err := Parse(out)
		if err != nil {
			t.Fatalf("%s: reparse: %v\n%s", f, err, out)
		}
		if !reflect.DeepEqual(back, spec) {
			t.Errorf("%s round trip differs:\n got %+v\nwant %+v", f, back, spec)
		}
	}
}

func TestValidationListsEveryProblem(t *testing.T) {
	doc := `version: 0.0
Resources:
  - TargetService:
      Type: AWS::Lambda::Function
      Properties:
        TaskDefinition: <TASK_DEFINITION>
        LoadBalancerInfo:
          ContainerPort: 0
Hooks:
  - BeforeDeploy: fn
  - BeforeInstall: ""
`
	_, err := Parse([]byte(doc))
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("want *ValidationError, got %v", err)
	}
	for _, want := range []string{"AWS::ECS::Service", "placeholder", "ContainerName is empty", "not a port", "BeforeDeploy", "names no Lambda function"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
	if _, err := New(ECSService{ContainerName: "api", ContainerPort: 80}); err == nil || !strings.Contains(err.Error(), "TaskDefinition is empty") {
		t.Errorf("New without task definition: %v", err)
	}
}

func TestParseRejectsBadInput(t *testing.T) {
	cases := map[string]string{
		"empty":          "  \n",
		"not yaml":       "version: [0.0\n",
		"hook with 2":    strings.Replace(docYAML, `  - BeforeInstall: "km-migrate"`, "  - {BeforeInstall: a, AfterInstall: b}", 1),
		"no resources":   "version: 0.0\n",
		"two hooks same": docYAML + "  - BeforeInstall: again\n",
	}
	for name, doc := range cases {
		if _, err := Parse([]byte(doc)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := Parse(nil); !errors.Is(err, ErrNoContent) {
		t.Errorf("nil content: %v", err)
	}
}

func TestFromRevision(t *testing.T) {
	appSpecRev := &types.RevisionLocation{
		RevisionType:   types.RevisionLocationTypeAppSpecContent,
		AppSpecContent: &types.AppSpecContent{Content: aws.String(docYAML), Sha256: aws.String(Sha256(docYAML))},
	}
	stringRev := &types.RevisionLocation{
		RevisionType: types.RevisionLocationTypeString,
		String_:      &types.RawString{Content: aws.String(docJSON)},
	}
	untyped := &types.RevisionLocation{AppSpecContent: &types.AppSpecContent{Content: aws.String(docJSON)}}
	for name, rev := range map[string]*types.RevisionLocation{"AppSpecContent": appSpecRev, "String": stringRev, "untyped": untyped} {
		spec, err := FromRevision(rev)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if spec.TaskDefinition() != taskDef {
			t.Errorf("%s: task definition %q", name, spec.TaskDefinition())
		}
	}

	bad := map[string]*types.RevisionLocation{
		"nil":      nil,
		"S3":       {RevisionType: types.RevisionLocationTypeS3, S3Location: &types.S3Location{Bucket: aws.String("b")}},
		"empty":    {RevisionType: types.RevisionLocationTypeAppSpecContent, AppSpecContent: &types.AppSpecContent{Content: aws.String("")}},
		"no field": {RevisionType: types.RevisionLocationTypeString},
		"bad sha":  {RevisionType: types.RevisionLocationTypeAppSpecContent, AppSpecContent: &types.AppSpecContent{Content: aws.String(docYAML), Sha256: aws.String(Sha256("other"))}},
		"not ecs":  {RevisionType: types.RevisionLocationTypeString, String_: &types.RawString{Content: aws.String("version: 0.0\nResources: []\n")}},
	}
	for name, rev := range bad {
		if _, err := FromRevision(rev); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestRevisionForCreateDeployment(t *testing.T) {
	spec, err := New(ECSService{TaskDefinition: taskDef, ContainerName: "api", ContainerPort: 8000})
	if err != nil {
		t.Fatal(err)
	}
	rev, err := spec.Revision(YAML)
	if err != nil {
		t.Fatal(err)
	}
	if rev.RevisionType != types.RevisionLocationTypeAppSpecContent || aws.ToString(rev.AppSpecContent.Sha256) != Sha256(aws.ToString(rev.AppSpecContent.Content)) {
		t.Errorf("revision = %+v", rev.AppSpecContent)
	}
	back, err := FromRevision(rev)
	if err != nil || back.TaskDefinition() != taskDef {
		t.Errorf("FromRevision(Revision()) = %v, %v", back, err)
	}
}
