package awsemu

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

// PlaceholderZip is a code package for CreateFunction: the emulation runs the handler
// registered with RegisterLambda in-process, but Lambda still requires a zip.
var PlaceholderZip = sync.OnceValue(func() []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.Create("bootstrap")
	if err == nil {
		_, err = w.Write([]byte("#!/bin/sh\necho 'run in-process by the emulation'\n"))
	}
	if err == nil {
		err = zw.Close()
	}
	if err != nil {
		panic("awsemu: zip into memory: " + err.Error()) // only a bug can get here
	}
	return buf.Bytes()
})

// lambdaService runs Invoke of registered functions in-process: the function itself
// (configuration, environment, timeout) lives in moto, its code is the factory.
type lambdaService struct {
	e         *Emulator
	mu        sync.RWMutex
	factories map[string]LambdaFactory
}

func newLambdaService(e *Emulator) *lambdaService {
	return &lambdaService{e: e, factories: map[string]LambdaFactory{}}
}

// RegisterLambda makes Invoke of the function called name (created in the emulation
// with CreateFunction as usual) run factory's handler in-process. Registrations
// survive Reset.
func (e *Emulator) RegisterLambda(name string, factory LambdaFactory) {
	e.lambdas.mu.Lock()
	defer e.lambdas.mu.Unlock()
	e.lambdas.factories[name] = factory
}

// functionName extracts the name from a name, a full or partial ARN, with or
// without a qualifier.
func functionName(ref string) string {
	parts := strings.Split(ref, ":")
	for i, p := range parts {
		if p == "function" && i+1 < len(parts) {
			return parts[i+1]
		}
	}
	return parts[0]
}

// serveInvoke handles Invoke; false hands the request to moto (unregistered function).
func (l *lambdaService) serveInvoke(w http.ResponseWriter, r *http.Request) bool {
	parts := pathParts(r.URL.EscapedPath())
	if len(parts) != 4 {
		return false
	}
	ref, err := url.PathUnescape(parts[2])
	if err != nil {
		return false
	}
	name := functionName(ref)
	l.mu.RLock()
	factory := l.factories[name]
	l.mu.RUnlock()
	if factory == nil {
		return false
	}

	fn, err := lambda.NewFromConfig(l.e.backend).GetFunctionConfiguration(r.Context(), &lambda.GetFunctionConfigurationInput{FunctionName: aws.String(name)})
	if err != nil {
		var nf *lambdatypes.ResourceNotFoundException
		if errors.As(err, &nf) {
			writeLambdaError(w, http.StatusNotFound, "ResourceNotFoundException",
				fmt.Sprintf("Function not found: arn:aws:lambda:%s:%s:function:%s", DefaultRegion, AccountID, name))
		} else {
			writeLambdaError(w, http.StatusInternalServerError, "ServiceException", err.Error())
		}
		return true
	}
	payload, _ := io.ReadAll(r.Body)
	if len(payload) == 0 {
		payload = []byte("{}")
	}
	reqID := fmt.Sprintf("%s-%s-%s-%s-%s", randomHex(4), randomHex(2), randomHex(2), randomHex(2), randomHex(6))
	w.Header().Set("X-Amzn-RequestId", reqID)
	w.Header().Set("X-Amz-Executed-Version", "$LATEST")

	switch r.Header.Get("X-Amz-Invocation-Type") {
	case "Event":
		retries := l.asyncRetries(r.Context(), name)
		l.e.goBackground(func(ctx context.Context) { l.invokeAsync(ctx, factory, fn, reqID, payload, retries) })
		w.WriteHeader(http.StatusAccepted)
	case "DryRun":
		w.WriteHeader(http.StatusNoContent)
	default:
		out, err := l.invoke(l.e.ctx, factory, fn, reqID, payload)
		w.Header().Set("Content-Type", "application/json")
		if err != nil {
			w.Header().Set("X-Amz-Function-Error", "Unhandled")
			out = functionErrorPayload(err)
		}
		_, _ = w.Write(out)
	}
	return true
}

// defaultAsyncRetries is how often Lambda retries a failed asynchronous invocation
// unless the function's event invoke configuration says otherwise.
const defaultAsyncRetries = 2

// asyncRetries reads the function's MaximumRetryAttempts (PutFunctionEventInvokeConfig,
// kept by moto), defaulting like Lambda.
func (l *lambdaService) asyncRetries(ctx context.Context, name string) int {
	cfg, err := lambda.NewFromConfig(l.e.backend).GetFunctionEventInvokeConfig(ctx, &lambda.GetFunctionEventInvokeConfigInput{FunctionName: aws.String(name)})
	if err != nil || cfg.MaximumRetryAttempts == nil {
		return defaultAsyncRetries
	}
	return int(aws.ToInt32(cfg.MaximumRetryAttempts))
}

// invokeAsync runs an Event invocation and, like Lambda, retries a failed one up to
// retries times, one emulated minute before the first retry and two before the second.
func (l *lambdaService) invokeAsync(ctx context.Context, factory LambdaFactory, fn *lambda.GetFunctionConfigurationOutput, reqID string, payload []byte, retries int) {
	name := aws.ToString(fn.FunctionName)
	for attempt := 0; ; attempt++ {
		_, err := l.invoke(ctx, factory, fn, reqID, payload)
		if err == nil {
			return
		}
		l.e.opts.Logf("awsemu: lambda: async invoke of %s failed (attempt %d of %d): %v", name, attempt+1, retries+1, err)
		if attempt >= retries {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Duration(attempt+1) * l.e.opts.LambdaRetryMinute):
		}
	}
}

// invocationError is a handler failure, with the errorType AWS would report.
type invocationError struct {
	Type    string
	Message string
}

func (e *invocationError) Error() string { return e.Type + ": " + e.Message }

// invoke builds and runs the handler under the function's timeout and environment.
func (l *lambdaService) invoke(ctx context.Context, factory LambdaFactory, fn *lambda.GetFunctionConfigurationOutput, reqID string, payload []byte) ([]byte, error) {
	timeout := time.Duration(aws.ToInt32(fn.Timeout)) * time.Second
	if timeout <= 0 {
		timeout = 3 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	ctx = lambdacontext.NewContext(ctx, &lambdacontext.LambdaContext{
		AwsRequestID: reqID, InvokedFunctionArn: aws.ToString(fn.FunctionArn),
	})
	env := map[string]string{}
	if fn.Environment != nil {
		for k, v := range fn.Environment.Variables {
			env[k] = v
		}
	}
	type result struct {
		out []byte
		err error
	}
	done := make(chan result, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				done <- result{err: &invocationError{Type: "Runtime.ExitError", Message: fmt.Sprintf("panic: %v", p)}}
			}
		}()
		// Lambda runs the function with its execution role's credentials.
		creds, err := l.e.authz.assumeFor(ctx, "lambda.amazonaws.com", aws.ToString(fn.Role), map[string][]string{"aws:SourceArn": {aws.ToString(fn.FunctionArn)}})
		if err != nil {
			done <- result{err: &invocationError{Type: "Runtime.InvalidRoleException", Message: "The role defined for the function cannot be assumed by Lambda: " + err.Error()}}
			return
		}
		h, err := factory(ctx, env, l.e.ConfigFor(creds))
		if err != nil {
			done <- result{err: &invocationError{Type: "Runtime.HandlerNotFound", Message: err.Error()}}
			return
		}
		out, err := h.Invoke(ctx, payload)
		done <- result{out, err}
	}()
	select {
	case res := <-done:
		return res.out, res.err
	case <-ctx.Done():
		return nil, &invocationError{Type: "Sandbox.Timedout", Message: fmt.Sprintf("Task timed out after %.2f seconds", timeout.Seconds())}
	}
}

// functionErrorPayload renders a handler error like the Lambda Go runtime does.
func functionErrorPayload(err error) []byte {
	typ := "error"
	var ie *invocationError
	if errors.As(err, &ie) {
		typ, err = ie.Type, errors.New(ie.Message)
	} else if t := reflect.TypeOf(err); t != nil {
		if t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		typ = t.Name()
	}
	b, _ := json.Marshal(map[string]string{"errorMessage": err.Error(), "errorType": typ})
	return b
}

func writeLambdaError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-ErrorType", code)
	w.WriteHeader(status)
	b, _ := json.Marshal(map[string]string{"Type": "User", "message": msg})
	_, _ = w.Write(b)
}
