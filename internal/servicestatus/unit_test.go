package servicestatus

import "testing"

func TestSameTaskDefinition(t *testing.T) {
	if !SameTaskDefinition("arn:aws:ecs:us-east-1:1:task-definition/km-api:12", "km-api:12") {
		t.Error("an ARN and its family:revision differ")
	}
	if SameTaskDefinition("arn:aws:ecs:us-east-1:1:task-definition/km-api:12", "km-api:13") {
		t.Error("two revisions are the same")
	}
}
