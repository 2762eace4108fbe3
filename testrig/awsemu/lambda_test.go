package awsemu_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	awslambda "github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/knowmetools/km-release/testrig/awsemu"
	"github.com/knowmetools/km-release/testrig/awsemu/emutest"
)

func createFunction(t *testing.T, emu *awsemu.Emulator, name string, timeout int32, env map[string]string) {
	t.Helper()
	ctx := t.Context()
	role, err := iam.NewFromConfig(emu.AWSConfig()).CreateRole(ctx, &iam.CreateRoleInput{
		RoleName:                 aws.String(name),
		AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`),
	})
	if err != nil {
		t.Fatalf("CreateRole: %v", err)
	}
	if _, err := lambda.NewFromConfig(emu.AWSConfig()).CreateFunction(ctx, &lambda.CreateFunctionInput{
		FunctionName: aws.String(name), Role: role.Role.Arn, Runtime: lambdatypes.RuntimeProvidedal2023,
		Handler: aws.String("bootstrap"), Code: &lambdatypes.FunctionCode{ZipFile: awsemu.PlaceholderZip()},
		Timeout: aws.Int32(timeout), Environment: &lambdatypes.Environment{Variables: env},
	}); err != nil {
		t.Fatalf("CreateFunction: %v", err)
	}
}

type echoIn struct {
	Mode string `json:"mode"`
}

// echoFactory's handler answers with its environment and request ID, fails or
// sleeps on request, and reports calls on seen.
func echoFactory(seen chan<- string) awsemu.LambdaFactory {
	return func(ctx context.Context, env map[string]string, cfg aws.Config) (awslambda.Handler, error) {
		return awslambda.NewHandler(func(ctx context.Context, in echoIn) (map[string]string, error) {
			lc, _ := lambdacontext.FromContext(ctx)
			if seen != nil {
				seen <- in.Mode
			}
			switch in.Mode {
			case "fail":
				return nil, errors.New("migration task exited 3")
			case "sleep":
				<-ctx.Done()
				return nil, ctx.Err()
			}
			return map[string]string{"greeting": env["GREETING"], "requestId": lc.AwsRequestID, "endpoint": aws.ToString(cfg.BaseEndpoint)}, nil
		}), nil
	}
}

func TestLambdaInvokeRunsRegisteredHandler(t *testing.T) {
	emu := emutest.Start(t)
	ctx := t.Context()
	name := emutest.UniqueName(t)
	createFunction(t, emu, name, 1, map[string]string{"GREETING": "hello"})
	seen := make(chan string, 4)
	emu.RegisterLambda(name, echoFactory(seen))
	lc := lambda.NewFromConfig(emu.AWSConfig())

	out, err := lc.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(name), Payload: []byte(`{"mode":"ok"}`)})
	if err != nil {
		t.Fatalf("Invoke: %v", err)
	}
	var got map[string]string
	if err := json.Unmarshal(out.Payload, &got); err != nil || out.FunctionError != nil {
		t.Fatalf("payload %s, function error %v, %v", out.Payload, aws.ToString(out.FunctionError), err)
	}
	if got["greeting"] != "hello" || got["requestId"] == "" || got["endpoint"] != emu.Endpoint() {
		t.Errorf("handler saw %v", got)
	}

	out, err = lc.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("arn:aws:lambda:us-east-1:123456789012:function:" + name), Payload: []byte(`{"mode":"fail"}`)})
	if err != nil {
		t.Fatalf("Invoke failing handler: %v", err)
	}
	if aws.ToString(out.FunctionError) != "Unhandled" || !strings.Contains(string(out.Payload), "migration task exited 3") {
		t.Errorf("failing handler: FunctionError %q payload %s", aws.ToString(out.FunctionError), out.Payload)
	}

	out, err = lc.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(name), Payload: []byte(`{"mode":"sleep"}`)})
	if err != nil {
		t.Fatalf("Invoke slow handler: %v", err)
	}
	if aws.ToString(out.FunctionError) != "Unhandled" || !strings.Contains(string(out.Payload), "Task timed out after 1.00 seconds") {
		t.Errorf("slow handler: FunctionError %q payload %s", aws.ToString(out.FunctionError), out.Payload)
	}

	for len(seen) > 0 {
		<-seen
	}
	out, err = lc.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(name), InvocationType: lambdatypes.InvocationTypeEvent, Payload: []byte(`{"mode":"async"}`)})
	if err != nil || out.StatusCode != 202 {
		t.Fatalf("async Invoke: status %d, %v", out.StatusCode, err)
	}
	select {
	case mode := <-seen:
		if mode != "async" {
			t.Errorf("async handler got mode %q", mode)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("async invocation did not run")
	}
}

func TestLambdaInvokeUnknownFunction(t *testing.T) {
	emu := emutest.Start(t)
	name := emutest.UniqueName(t)
	emu.RegisterLambda(name, echoFactory(nil)) // registered code, but no function created
	_, err := lambda.NewFromConfig(emu.AWSConfig()).Invoke(t.Context(), &lambda.InvokeInput{FunctionName: aws.String(name)})
	var nf *lambdatypes.ResourceNotFoundException
	if !errors.As(err, &nf) {
		t.Fatalf("Invoke of a function that does not exist: %v, want ResourceNotFoundException", err)
	}
}

// A failed asynchronous invocation is retried twice by default, like Lambda, and not
// at all once the function's event invoke configuration says MaximumRetryAttempts 0.
func TestLambdaAsyncInvokeRetriesLikeLambda(t *testing.T) {
	emu := emutest.Start(t)
	ctx := t.Context()
	lc := lambda.NewFromConfig(emu.AWSConfig())
	for _, tc := range []struct {
		name    string
		retries *int32
		want    int
	}{
		{"default", nil, 3},
		{"no retries", aws.Int32(0), 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			name := emutest.UniqueName(t)
			createFunction(t, emu, name, 5, nil)
			seen := make(chan string, 8)
			emu.RegisterLambda(name, echoFactory(seen))
			if tc.retries != nil {
				if _, err := lc.PutFunctionEventInvokeConfig(ctx, &lambda.PutFunctionEventInvokeConfigInput{
					FunctionName: aws.String(name), MaximumRetryAttempts: tc.retries,
				}); err != nil {
					t.Fatalf("PutFunctionEventInvokeConfig: %v", err)
				}
			}
			if _, err := lc.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(name), InvocationType: lambdatypes.InvocationTypeEvent, Payload: []byte(`{"mode":"fail"}`)}); err != nil {
				t.Fatalf("async Invoke: %v", err)
			}
			// The retries of the default case come after one and two emulated
			// minutes (1s each by default): everything has run after 5s.
			runs := 0
			deadline := time.After(5 * time.Second)
		wait:
			for {
				select {
				case <-seen:
					runs++
				case <-deadline:
					break wait
				}
			}
			if runs != tc.want {
				t.Errorf("the failing handler ran %d times, want %d", runs, tc.want)
			}
		})
	}
}
