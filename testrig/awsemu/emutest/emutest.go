// Package emutest shares one AWS emulation per test binary.
//
//	func TestMain(m *testing.M) { emutest.Main(m) }
//
//	func TestX(t *testing.T) {
//		emu := emutest.Start(t)
//		ecsc := ecs.NewFromConfig(emu.AWSConfig())
//		...
//	}
//
// The emulator is started on first use and closed by Main when the tests end (and
// killed with the test binary otherwise). Tests share it: give resources unique names
// (UniqueName) instead of resetting it. AWSEMU_LOG=1 in the environment prints the
// emulation's events (task states, deployment steps) to stderr.
package emutest

import (
	"context"
	"fmt"
	"log"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/knowmetools/km-release/testrig/awsemu"
)

var (
	once     sync.Once
	shared   *awsemu.Emulator
	errStart error
	seq      atomic.Int64
)

// Options are used by the first Start of the test binary; set them in TestMain
// before Main if the defaults do not fit.
var Options awsemu.Options

// Start returns the test binary's shared emulator, starting it on first use. A start
// failure fails the test with the reason (e.g. how to install moto).
func Start(t testing.TB) *awsemu.Emulator {
	t.Helper()
	once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		opts := Options
		if opts.Logf == nil && os.Getenv("AWSEMU_LOG") != "" {
			opts.Logf = log.New(os.Stderr, "", log.Ltime|log.Lmicroseconds).Printf
		}
		shared, errStart = awsemu.Start(ctx, opts)
	})
	if errStart != nil {
		t.Fatalf("start the AWS emulation: %v", errStart)
	}
	return shared
}

// Main runs the tests and then closes the shared emulator, if one was started.
func Main(m *testing.M) {
	code := m.Run()
	if shared != nil {
		shared.Close()
	}
	os.Exit(code)
}

// UniqueName returns a name unique within the test binary, built from the test's name,
// usable for buckets, clusters, functions and repositories (lower case, [a-z0-9-]).
func UniqueName(t testing.TB) string {
	var b strings.Builder
	for _, r := range strings.ToLower(t.Name()) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	name := strings.Trim(b.String(), "-")
	if len(name) > 40 {
		name = name[:40]
	}
	return fmt.Sprintf("%s-%d", name, seq.Add(1))
}
