package awsemu

import (
	"context"
	"crypto/tls"
	"encoding/xml"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

// maxProbeTimeout caps one health check: DescribeTargetHealth answers only after its
// probes, and the group's own timeout (5s by default) would make every poll slow.
const maxProbeTimeout = 2 * time.Second

// TargetHealth reasons and descriptions as ELBv2 reports them.
const (
	reasonCodeMismatch  = "Target.ResponseCodeMismatch"
	reasonTimeout       = "Target.Timeout"
	reasonFailed        = "Target.FailedHealthChecks"
	reasonCheckDisabled = "Target.HealthCheckDisabled"
)

// healthCheck is the part of a target group that decides a target's health.
type healthCheck struct {
	enabled  bool
	protocol string // HTTP, HTTPS or TCP
	port     string // "traffic-port" or a number
	path     string
	matcher  string // e.g. "200", "200,202", "200-299"
	timeout  time.Duration
}

// targetHealth is the TargetHealth element of one target.
type targetHealth struct {
	State, Reason, Description string
}

// fixTargetHealth makes DescribeTargetHealth follow the targets' real health checks:
// moto calls every registered target healthy. Targets on a loopback address (the
// emulation's service tasks) are probed with the target group's health check; other
// targets keep moto's answer.
func (e *Emulator) fixTargetHealth(r *http.Request) responseFix {
	vals, err := url.ParseQuery(string(readBody(r)))
	group := vals.Get("TargetGroupArn")
	if err != nil || group == "" {
		return nil
	}
	return func(resp *http.Response) error {
		if resp.StatusCode != http.StatusOK {
			return nil
		}
		ctx := resp.Request.Context()
		return rewriteBody(resp, func(b []byte) ([]byte, error) {
			out, err := probeTargets(ctx, b, func() (*healthCheck, error) { return e.healthCheck(ctx, group) })
			if err != nil {
				// moto's answer is still a valid one; say why it was not corrected.
				e.opts.Logf("awsemu: DescribeTargetHealth of %s: keeping moto's health: %v", group, err)
				return b, nil
			}
			return out, nil
		})
	}
}

// probeTargets rewrites the TargetHealth of each loopback target in a
// DescribeTargetHealth response, leaving the rest of the document as moto wrote it.
// settings is called only when there is a target to probe.
func probeTargets(ctx context.Context, body []byte, settings func() (*healthCheck, error)) ([]byte, error) {
	doc, err := parseXML(body)
	if err != nil {
		return nil, fmt.Errorf("parse moto's response: %w", err)
	}
	var members []*xmlNode
	if list := doc.path("DescribeTargetHealthResult", "TargetHealthDescriptions"); list != nil {
		for i := range list.Children {
			if list.Children[i].XMLName.Local == "member" {
				members = append(members, &list.Children[i])
			}
		}
	}
	type probe struct {
		health *xmlNode
		addr   netip.AddrPort
	}
	var probes []probe
	for _, m := range members {
		health := m.path("TargetHealth")
		addr, ok := loopbackTarget(m)
		if !ok || health == nil {
			continue
		}
		// Not registered, draining and the like are moto's to say.
		if st := health.path("State"); st == nil || (st.Text != "healthy" && st.Text != "unhealthy") {
			continue
		}
		probes = append(probes, probe{health: health, addr: addr})
	}
	if len(probes) == 0 {
		return body, nil
	}
	hc, err := settings()
	if err != nil {
		return nil, err
	}
	results := make([]targetHealth, len(probes))
	var wg sync.WaitGroup
	for i, p := range probes {
		wg.Go(func() { results[i] = hc.check(ctx, p.addr) })
	}
	wg.Wait()
	for i, p := range probes {
		p.health.setHealth(results[i])
	}
	out, err := xml.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("write the corrected response: %w", err)
	}
	return out, nil
}

// loopbackTarget is the address of a target whose Id is a 127.0.0.0/8 address with a
// port: a process of this machine the emulation can reach.
func loopbackTarget(member *xmlNode) (netip.AddrPort, bool) {
	id, port := member.path("Target", "Id"), member.path("Target", "Port")
	if id == nil || port == nil {
		return netip.AddrPort{}, false
	}
	addr, err := netip.ParseAddr(strings.TrimSpace(id.Text))
	if err != nil || !addr.Is4() || !addr.IsLoopback() {
		return netip.AddrPort{}, false
	}
	p, err := strconv.ParseUint(strings.TrimSpace(port.Text), 10, 16)
	if err != nil || p == 0 {
		return netip.AddrPort{}, false
	}
	return netip.AddrPortFrom(addr, uint16(p)), true
}

// healthCheck reads the target group's health check settings from moto.
func (e *Emulator) healthCheck(ctx context.Context, group string) (*healthCheck, error) {
	out, err := elbv2.NewFromConfig(e.backend).DescribeTargetGroups(ctx, &elbv2.DescribeTargetGroupsInput{TargetGroupArns: []string{group}})
	if err != nil {
		return nil, fmt.Errorf("read the target group's health check: %w", err)
	}
	if len(out.TargetGroups) != 1 {
		return nil, fmt.Errorf("read the target group's health check: %d target groups found", len(out.TargetGroups))
	}
	return newHealthCheck(out.TargetGroups[0]), nil
}

// newHealthCheck applies ELBv2's defaults to a target group's settings.
func newHealthCheck(tg elbtypes.TargetGroup) *healthCheck {
	hc := &healthCheck{
		enabled:  tg.HealthCheckEnabled == nil || *tg.HealthCheckEnabled,
		protocol: string(tg.HealthCheckProtocol),
		port:     aws.ToString(tg.HealthCheckPort),
		path:     aws.ToString(tg.HealthCheckPath),
		matcher:  "200",
		timeout:  maxProbeTimeout,
	}
	if hc.protocol == "" {
		hc.protocol = string(tg.Protocol)
	}
	if hc.path == "" {
		hc.path = "/"
	}
	if tg.Matcher != nil && aws.ToString(tg.Matcher.HttpCode) != "" {
		hc.matcher = aws.ToString(tg.Matcher.HttpCode)
	}
	if s := aws.ToInt32(tg.HealthCheckTimeoutSeconds); s > 0 {
		hc.timeout = min(time.Duration(s)*time.Second, maxProbeTimeout)
	}
	return hc
}

// probeClient is shared by all probes. Like a load balancer it follows no redirects
// (a 3xx is a code like any other), verifies no target certificate, and opens a new
// connection per check so a stopped task is seen at once.
var probeClient = &http.Client{
	Transport: &http.Transport{
		Proxy:             nil,
		DisableKeepAlives: true,
		TLSClientConfig:   &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // load balancers do not verify targets
	},
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// check runs one health check against target and reports its health as ELBv2 would.
func (hc *healthCheck) check(ctx context.Context, target netip.AddrPort) targetHealth {
	if !hc.enabled {
		return targetHealth{State: "unavailable", Reason: reasonCheckDisabled, Description: "Health checks disabled"}
	}
	addr := target
	if p, err := strconv.ParseUint(hc.port, 10, 16); err == nil && p > 0 {
		addr = netip.AddrPortFrom(target.Addr(), uint16(p))
	}
	ctx, cancel := context.WithTimeout(ctx, hc.timeout)
	defer cancel()
	if hc.protocol != "HTTP" && hc.protocol != "HTTPS" {
		// TCP and the like: a connection is the check.
		conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr.String())
		if err != nil {
			return failedHealth(err)
		}
		conn.Close()
		return targetHealth{State: "healthy"}
	}
	url := strings.ToLower(hc.protocol) + "://" + addr.String() + hc.path
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return targetHealth{State: "unhealthy", Reason: reasonFailed, Description: "Health checks failed"}
	}
	req.Header.Set("User-Agent", "ELB-HealthChecker/2.0")
	resp, err := probeClient.Do(req)
	if err != nil {
		return failedHealth(err)
	}
	resp.Body.Close()
	if !matchesCode(hc.matcher, resp.StatusCode) {
		return targetHealth{State: "unhealthy", Reason: reasonCodeMismatch,
			Description: fmt.Sprintf("Health checks failed with these codes: [%d]", resp.StatusCode)}
	}
	return targetHealth{State: "healthy"}
}

func failedHealth(err error) targetHealth {
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return targetHealth{State: "unhealthy", Reason: reasonTimeout, Description: "Request timed out"}
	}
	return targetHealth{State: "unhealthy", Reason: reasonFailed, Description: "Health checks failed"}
}

// matchesCode reports whether code is in a matcher such as "200", "200,202" or
// "200-299".
func matchesCode(matcher string, code int) bool {
	for part := range strings.SplitSeq(matcher, ",") {
		lo, hi, isRange := strings.Cut(strings.TrimSpace(part), "-")
		from, err := strconv.Atoi(strings.TrimSpace(lo))
		if err != nil {
			continue
		}
		to := from
		if isRange {
			if to, err = strconv.Atoi(strings.TrimSpace(hi)); err != nil {
				continue
			}
		}
		if code >= from && code <= to {
			return true
		}
	}
	return false
}

// setHealth replaces the children of a TargetHealth element.
func (n *xmlNode) setHealth(h targetHealth) {
	n.Children, n.Text = nil, ""
	add := func(name, text string) {
		if text != "" {
			n.Children = append(n.Children, xmlNode{XMLName: xml.Name{Local: name}, Text: text})
		}
	}
	add("State", h.State)
	add("Reason", h.Reason)
	add("Description", h.Description)
}
