package awsemu_test

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/knowmetools/km-release/testrig/awsemu/emutest"
)

// statusServer answers GET /status/ with the code it holds and 404 elsewhere, on a
// loopback address of its own (moto keeps one target per Id, so each target of a group
// needs its own address).
type statusServer struct {
	*httptest.Server
	code atomic.Int32
}

func newStatusServer(t *testing.T, ip string, code int) *statusServer {
	t.Helper()
	s := &statusServer{}
	s.code.Store(int32(code))
	ln, err := net.Listen("tcp", ip+":0")
	if err != nil {
		t.Fatalf("listen on %s: %v", ip, err)
	}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/status/" {
			http.NotFound(w, r)
			return
		}
		w.WriteHeader(int(s.code.Load()))
	}))
	s.Listener = ln
	s.Start()
	t.Cleanup(s.Close)
	return s
}

func (s *statusServer) target() elbtypes.TargetDescription {
	a := s.Listener.Addr().(*net.TCPAddr)
	return elbtypes.TargetDescription{Id: aws.String(a.IP.String()), Port: aws.Int32(int32(a.Port))}
}

func TestDescribeTargetHealthFollowsHealthChecks(t *testing.T) {
	emu := emutest.Start(t)
	ctx := t.Context()
	cfg := emu.AWSConfig()
	elbc := elb.NewFromConfig(cfg)
	name := emutest.UniqueName(t)
	if len(name) > 32 {
		name = name[len(name)-32:]
	}
	vpc, err := ec2.NewFromConfig(cfg).CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.2.0.0/16")})
	check(t, "CreateVpc", err)
	tg, err := elbc.CreateTargetGroup(ctx, &elb.CreateTargetGroupInput{
		Name: aws.String(name), Protocol: elbtypes.ProtocolEnumHttp, Port: aws.Int32(8000),
		VpcId: vpc.Vpc.VpcId, TargetType: elbtypes.TargetTypeEnumIp,
		HealthCheckPath: aws.String("/status/"), Matcher: &elbtypes.Matcher{HttpCode: aws.String("200")},
		HealthCheckTimeoutSeconds: aws.Int32(2),
	})
	check(t, "CreateTargetGroup", err)
	arn := tg.TargetGroups[0].TargetGroupArn

	up := newStatusServer(t, "127.0.0.1", http.StatusOK)
	migrating := newStatusServer(t, "127.0.0.2", http.StatusServiceUnavailable)
	closed, err := net.Listen("tcp", "127.0.0.3:0")
	if err != nil {
		t.Fatal(err)
	}
	closedPort := closed.Addr().(*net.TCPAddr).Port
	closed.Close()
	// A target that accepts the connection but never answers.
	hung, err := net.Listen("tcp", "127.0.0.4:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { hung.Close() })
	remote := elbtypes.TargetDescription{Id: aws.String("10.2.0.9"), Port: aws.Int32(8000)}
	targets := []elbtypes.TargetDescription{up.target(), migrating.target(),
		{Id: aws.String("127.0.0.3"), Port: aws.Int32(int32(closedPort))},
		{Id: aws.String("127.0.0.4"), Port: aws.Int32(int32(hung.Addr().(*net.TCPAddr).Port))},
		remote}
	_, err = elbc.RegisterTargets(ctx, &elb.RegisterTargetsInput{TargetGroupArn: arn, Targets: targets})
	check(t, "RegisterTargets", err)

	health := func() map[string]elbtypes.TargetHealth {
		t.Helper()
		out, err := elbc.DescribeTargetHealth(ctx, &elb.DescribeTargetHealthInput{TargetGroupArn: arn})
		check(t, "DescribeTargetHealth", err)
		got := map[string]elbtypes.TargetHealth{}
		for _, d := range out.TargetHealthDescriptions {
			if d.Target == nil || d.TargetHealth == nil {
				t.Fatalf("a description without target or health: %+v", d)
			}
			if aws.ToString(d.HealthCheckPort) != "traffic-port" {
				t.Errorf("HealthCheckPort of %s = %q, want moto's traffic-port kept", aws.ToString(d.Target.Id), aws.ToString(d.HealthCheckPort))
			}
			got[aws.ToString(d.Target.Id)] = *d.TargetHealth
		}
		if len(got) != len(targets) {
			t.Fatalf("DescribeTargetHealth described %d targets, want %d", len(got), len(targets))
		}
		return got
	}
	expect := func(got map[string]elbtypes.TargetHealth, id string, state elbtypes.TargetHealthStateEnum, reason elbtypes.TargetHealthReasonEnum, desc string) {
		t.Helper()
		h := got[id]
		if h.State != state || h.Reason != reason || aws.ToString(h.Description) != desc {
			t.Errorf("%s: state %q reason %q description %q; want %q %q %q",
				id, h.State, h.Reason, aws.ToString(h.Description), state, reason, desc)
		}
	}

	began := time.Now()
	got := health()
	t.Logf("DescribeTargetHealth with a hung target took %s", time.Since(began).Round(time.Millisecond))
	expect(got, "127.0.0.1", elbtypes.TargetHealthStateEnumHealthy, "", "")
	expect(got, "127.0.0.2", elbtypes.TargetHealthStateEnumUnhealthy, elbtypes.TargetHealthReasonEnumResponseCodeMismatch, "Health checks failed with these codes: [503]")
	expect(got, "127.0.0.3", elbtypes.TargetHealthStateEnumUnhealthy, elbtypes.TargetHealthReasonEnumFailedHealthChecks, "Health checks failed")
	expect(got, "127.0.0.4", elbtypes.TargetHealthStateEnumUnhealthy, elbtypes.TargetHealthReasonEnumTimeout, "Request timed out")
	// Not a process of this machine: moto's answer stays.
	expect(got, "10.2.0.9", elbtypes.TargetHealthStateEnumHealthy, "", "")

	// The SDK's waiter ends for the healthy target and keeps waiting for the other.
	waiter := elb.NewTargetInServiceWaiter(elbc, func(o *elb.TargetInServiceWaiterOptions) {
		o.MinDelay, o.MaxDelay = 100*time.Millisecond, 200*time.Millisecond
	})
	if err := waiter.Wait(ctx, &elb.DescribeTargetHealthInput{TargetGroupArn: arn, Targets: []elbtypes.TargetDescription{up.target()}}, 10*time.Second); err != nil {
		t.Errorf("TargetInService waiter for the healthy target: %v", err)
	}
	err = waiter.Wait(ctx, &elb.DescribeTargetHealthInput{TargetGroupArn: arn, Targets: []elbtypes.TargetDescription{migrating.target()}}, time.Second)
	if err == nil || !strings.Contains(err.Error(), "exceeded max wait time") {
		t.Errorf("TargetInService waiter for the target answering 503 = %v, want it to time out", err)
	}

	// Migrations applied: the next check sees 200.
	migrating.code.Store(http.StatusOK)
	expect(health(), "127.0.0.2", elbtypes.TargetHealthStateEnumHealthy, "", "")
	if err := waiter.Wait(ctx, &elb.DescribeTargetHealthInput{TargetGroupArn: arn, Targets: []elbtypes.TargetDescription{migrating.target()}}, 10*time.Second); err != nil {
		t.Errorf("TargetInService waiter once the target answers 200: %v", err)
	}
}
