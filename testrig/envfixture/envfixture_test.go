package envfixture

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/knowmetools/km-release/testrig/awsemu/emutest"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
)

func TestMain(m *testing.M) { emutest.Main(m) }

func TestOptionsValidation(t *testing.T) {
	for _, name := range []string{"", "Upper", "a-name-that-is-far-too-long"} {
		o := Options{Name: name}
		if err := o.defaults(); err == nil {
			t.Errorf("name %q accepted", name)
		}
	}
}

func TestWaitStartedReportsAnUnknownTask(t *testing.T) {
	client := ecs.NewFromConfig(emutest.Start(t).AWSConfig())
	cluster := emutest.UniqueName(t)
	if _, err := client.CreateCluster(t.Context(), &ecs.CreateClusterInput{ClusterName: aws.String(cluster)}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	arn := "arn:aws:ecs:us-east-1:123456789012:task/" + cluster + "/0000000000000000000000000000dead"
	err := waitStarted(ctx, client, cluster, arn, "api")
	if err == nil || ctx.Err() != nil || !strings.Contains(err.Error(), "dead") {
		t.Errorf("unknown task: %v (context: %v), want an error naming the task before the deadline", err, ctx.Err())
	}
}
