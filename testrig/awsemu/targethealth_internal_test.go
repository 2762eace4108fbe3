package awsemu

import (
	"context"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"
)

// A response as moto 5.2 writes it: one loopback target, one in a VPC.
const motoTargetHealth = `<DescribeTargetHealthResponse xmlns="http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/"><DescribeTargetHealthResult><TargetHealthDescriptions><member><Target><Id>127.0.0.1</Id><Port>PORT</Port></Target><HealthCheckPort>traffic-port</HealthCheckPort><TargetHealth><State>healthy</State></TargetHealth></member><member><Target><Id>10.0.0.5</Id><Port>80</Port></Target><HealthCheckPort>traffic-port</HealthCheckPort><TargetHealth><State>healthy</State></TargetHealth></member></TargetHealthDescriptions></DescribeTargetHealthResult><ResponseMetadata><RequestId>HBsKaw5GSI5dS46C</RequestId></ResponseMetadata></DescribeTargetHealthResponse>`

// The rewrite changes the loopback target's TargetHealth and nothing else.
func TestProbeTargetsKeepsTheRestOfTheDocument(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).AddrPort().Port()
	ln.Close() // a closed port: connection refused
	in := strings.Replace(motoTargetHealth, "PORT", strconv.Itoa(int(port)), 1)
	out, err := probeTargets(context.Background(), []byte(in), func() (*healthCheck, error) {
		return &healthCheck{enabled: true, protocol: "HTTP", port: "traffic-port", path: "/", matcher: "200", timeout: time.Second}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Replace(in, "<State>healthy</State>",
		"<State>unhealthy</State><Reason>Target.FailedHealthChecks</Reason><Description>Health checks failed</Description>", 1)
	if string(out) != want {
		t.Errorf("rewritten response:\n%s\nwant:\n%s", out, want)
	}
}

func TestMatchesCode(t *testing.T) {
	for _, c := range []struct {
		matcher string
		code    int
		want    bool
	}{
		{"200", 200, true}, {"200", 503, false}, {"200,202", 202, true},
		{"200-299", 204, true}, {"200-299", 302, false}, {"200-299,404", 404, true},
	} {
		if got := matchesCode(c.matcher, c.code); got != c.want {
			t.Errorf("matchesCode(%q, %d) = %v, want %v", c.matcher, c.code, got, c.want)
		}
	}
}
