package awsemu

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Faults injects failures. Services are named by their SigV4 signing name ("ecs",
// "s3", "lambda", "codedeploy", "ecr", "logs", "elasticloadbalancing", "cloudfront",
// "ssm", "sts", "iam", ...; the aliases "elbv2" and "cloudwatchlogs" work too) and
// operations by their API name ("RunTask", "PutObject"); operation "*" matches any.
type Faults struct {
	mu        sync.Mutex
	throttles map[string]int
	delays    map[string]time.Duration
	calls     map[string]int
	next      *TaskFault
}

// TaskFault is what the next ECS task started will do instead of what its runner says.
type TaskFault struct {
	// FailToStart, when set, stops the task before RUNNING with stopCode TaskFailedToStart.
	FailToStart string
	// RunFor keeps the task RUNNING at least this long.
	RunFor time.Duration
	// Exits overrides container outcomes by container name.
	Exits map[string]ContainerExit
}

func newFaults() *Faults {
	f := &Faults{}
	f.reset()
	return f
}

func (f *Faults) reset() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.throttles = map[string]int{}
	f.delays = map[string]time.Duration{}
	f.calls = map[string]int{}
	f.next = nil
}

var serviceAliases = map[string]string{
	"elbv2":                  "elasticloadbalancing",
	"elasticloadbalancingv2": "elasticloadbalancing",
	"cloudwatchlogs":         "logs",
	"eventbridge":            "events",
}

func faultKey(service, operation string) string {
	s := strings.ToLower(service)
	if a, ok := serviceAliases[s]; ok {
		s = a
	}
	return s + "/" + operation
}

// Throttle makes the next n calls of service/operation fail with AWS's throttling
// error in the protocol's own shape (ThrottlingException, Throttling, SlowDown,
// TooManyRequestsException, RequestLimitExceeded), which the SDK's retryer retries.
func (f *Faults) Throttle(service, operation string, n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.throttles[faultKey(service, operation)] += n
}

// Delay makes every later call of service/operation wait d before it is served;
// d <= 0 removes the delay.
func (f *Faults) Delay(service, operation string, d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if d <= 0 {
		delete(f.delays, faultKey(service, operation))
		return
	}
	f.delays[faultKey(service, operation)] = d
}

// Calls reports how many calls of service/operation reached the endpoint since the
// last Reset, throttled ones included (to check that a client retried).
func (f *Faults) Calls(service, operation string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[faultKey(service, operation)]
}

// AllCalls reports every service/operation called since the last Reset, with counts
// (keys "service/Operation"), e.g. to check that a refused command changed nothing.
func (f *Faults) AllCalls() map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return maps.Clone(f.calls)
}

// NextTaskExit makes the named container of the next ECS task exit with code and
// reason (other containers exit as their runner says).
func (f *Faults) NextTaskExit(containerName string, code int, reason string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := f.nextLocked()
	n.Exits[containerName] = ContainerExit{ExitCode: code, Reason: reason}
}

// NextTaskFailsToStart makes the next ECS task stop before RUNNING with stopCode
// TaskFailedToStart, stoppedReason reason and no exit codes.
func (f *Faults) NextTaskFailsToStart(reason string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nextLocked().FailToStart = reason
}

// NextTaskRunsFor keeps the next ECS task RUNNING for at least d.
func (f *Faults) NextTaskRunsFor(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nextLocked().RunFor = d
}

func (f *Faults) nextLocked() *TaskFault {
	if f.next == nil {
		f.next = &TaskFault{Exits: map[string]ContainerExit{}}
	}
	return f.next
}

// takeTaskFault hands the pending task fault to the task being started.
func (f *Faults) takeTaskFault() *TaskFault {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := f.next
	f.next = nil
	return n
}

func (f *Faults) count(c call) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls[faultKey(c.service, c.operation)]++
}

// intercept applies delay and throttling faults; it reports whether it answered.
func (f *Faults) intercept(ctx context.Context, w http.ResponseWriter, c call) bool {
	f.mu.Lock()
	exact, any := faultKey(c.service, c.operation), faultKey(c.service, "*")
	delay := f.delays[exact]
	if delay == 0 {
		delay = f.delays[any]
	}
	throttle := false
	for _, k := range []string{exact, any} {
		if f.throttles[k] > 0 {
			f.throttles[k]--
			throttle = true
			break
		}
	}
	f.mu.Unlock()

	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-ctx.Done():
			return true
		}
	}
	if throttle {
		writeThrottle(w, c)
	}
	return throttle
}

const requestID = "00000000-0000-4000-8000-000000000000"

func writeThrottle(w http.ResponseWriter, c call) {
	h := w.Header()
	h.Set("X-Amzn-RequestId", requestID)
	switch c.protocol {
	case protoJSON:
		writeJSONError(w, http.StatusBadRequest, "ThrottlingException", "Rate exceeded")
	case protoRESTJSON:
		h.Set("Content-Type", "application/json")
		h.Set("X-Amzn-ErrorType", "TooManyRequestsException")
		w.WriteHeader(http.StatusTooManyRequests)
		fmt.Fprint(w, `{"Type":"User","message":"Rate exceeded","Reason":"CallerRateLimitExceeded"}`)
	case protoS3:
		h.Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message><RequestId>%s</RequestId></Error>`, requestID)
	case protoEC2:
		h.Set("Content-Type", "text/xml")
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit exceeded.</Message></Error></Errors><RequestID>%s</RequestID></Response>`, requestID)
	default: // awsQuery and restXml share the ErrorResponse shape
		h.Set("Content-Type", "text/xml")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>%s</RequestId></ErrorResponse>`, requestID)
	}
}

// writeJSONError answers in the awsJson error shape the SDK reads (__type + header).
func writeJSONError(w http.ResponseWriter, status int, code, message string) {
	h := w.Header()
	h.Set("Content-Type", "application/x-amz-json-1.1")
	h.Set("X-Amzn-ErrorType", code)
	w.WriteHeader(status)
	b, _ := json.Marshal(map[string]string{"__type": code, "message": message})
	_, _ = w.Write(b)
}
