package awsemu

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/knowmetools/km-release/testrig/freeport"
)

// ErrMotoMissing is returned by Start when python3 or the moto package is not
// installed; the message names the fix.
var ErrMotoMissing = errors.New("moto is not installed: run pip install 'moto[server]' (needs python3)")

// motoServer is one `python3 -m moto.server` process in its own process group.
type motoServer struct {
	cmd  *exec.Cmd
	port int
	out  *tailBuffer
	done chan struct{} // closed when the process has exited
	err  error         // exit status, valid after done
}

// startMoto starts moto on a free loopback port and waits until it answers HTTP.
func startMoto(ctx context.Context, python string, timeout time.Duration) (*motoServer, error) {
	if _, err := exec.LookPath(python); err != nil {
		return nil, fmt.Errorf("%w: %s not found on PATH", ErrMotoMissing, python)
	}
	// The port is picked by the kernel then handed to moto; another process may grab
	// it in between, so a start that loses that race is retried.
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		port, err := freeport.Get()
		if err != nil {
			return nil, err
		}
		m, err := launchMoto(ctx, python, port, timeout)
		if err == nil {
			return m, nil
		}
		lastErr = err
		if !strings.Contains(err.Error(), "Address already in use") {
			break
		}
	}
	return nil, lastErr
}

// motoMain runs moto's server with one correction. moto evaluates a bucket policy
// without request context: it checks only StringEquals conditions, and a statement
// whose condition does not hold denies instead of not applying. So the TLS-only
// statement every bucket of infra/ has (Deny when aws:SecureTransport is false) denies
// all object access. The emulation stands for AWS's HTTPS endpoints: requests count as
// secure transport, and a statement that applies only to insecure transport is skipped.
const motoMain = `
import sys
import moto.iam.access_control as ac
_is_action_permitted = ac.IAMPolicyStatement.is_action_permitted
def _over_tls(self, action, resource="*", principal=None, incoming_condition_values=None):
    for op, keys in (self._statement.get("Condition") or {}).items():
        if op.startswith("Bool") and "aws:SecureTransport" in keys:
            want = keys["aws:SecureTransport"]
            if "true" not in [str(w).lower() for w in (want if isinstance(want, list) else [want])]:
                return ac.PermissionResult.NEUTRAL
    return _is_action_permitted(self, action, resource, principal, incoming_condition_values)
ac.IAMPolicyStatement.is_action_permitted = _over_tls
from moto.server import main
main(sys.argv[1:])
`

func launchMoto(ctx context.Context, python string, port int, timeout time.Duration) (*motoServer, error) {
	cmd := exec.Command(python, "-c", motoMain, "-H", "127.0.0.1", "-p", strconv.Itoa(port))
	cmd.Env = append(os.Environ(),
		"MOTO_IAM_LOAD_MANAGED_POLICIES=true",
		// ACM certificates validated by DNS are issued at once, not after moto's 60 s.
		"MOTO_ACM_VALIDATION_WAIT=0",
		"PYTHONUNBUFFERED=1",
		// moto must never reach out to AWS or Docker.
		"AWS_ACCESS_KEY_ID="+AccessKeyID, "AWS_SECRET_ACCESS_KEY="+SecretAccessKey,
		"AWS_DEFAULT_REGION="+DefaultRegion, "AWS_EC2_METADATA_DISABLED=true",
	)
	out := newTailBuffer(64 << 10)
	cmd.Stdout, cmd.Stderr = out, out
	// Own process group so Close kills moto and anything it spawned; Pdeathsig so a
	// crashed test binary does not leave moto behind.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start moto: %w", err)
	}
	m := &motoServer{cmd: cmd, port: port, out: out, done: make(chan struct{})}
	go func() {
		m.err = cmd.Wait()
		close(m.done)
	}()

	if err := m.waitReady(ctx, timeout); err != nil {
		m.stop()
		tail := m.out.String()
		if strings.Contains(tail, "No module named moto") || strings.Contains(tail, "No module named 'moto") ||
			strings.Contains(tail, "ModuleNotFoundError") {
			return nil, fmt.Errorf("%w\n%s", ErrMotoMissing, lastLines(tail, 5))
		}
		return nil, fmt.Errorf("moto did not become ready on port %d: %w\nmoto output:\n%s", port, err, lastLines(tail, 20))
	}
	return m, nil
}

func (m *motoServer) url() string { return "http://127.0.0.1:" + strconv.Itoa(m.port) }

func (m *motoServer) waitReady(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	client := &http.Client{Timeout: 2 * time.Second}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, m.url()+"/moto-api/", nil)
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			return nil
		}
		select {
		case <-m.done:
			return fmt.Errorf("moto exited: %v", m.err)
		case <-ctx.Done():
			return fmt.Errorf("not ready after %s: %w", timeout, ctx.Err())
		case <-tick.C:
		}
	}
}

// stop kills moto's process group and waits for it to exit.
func (m *motoServer) stop() {
	select {
	case <-m.done:
		return
	default:
	}
	_ = syscall.Kill(-m.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-m.done:
	case <-time.After(3 * time.Second):
		_ = syscall.Kill(-m.cmd.Process.Pid, syscall.SIGKILL)
		<-m.done
	}
}

// tailBuffer keeps the last max bytes written, for error messages.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func newTailBuffer(max int) *tailBuffer { return &tailBuffer{max: max} }

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if over := len(t.b) - t.max; over > 0 {
		t.b = append(t.b[:0], t.b[over:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
