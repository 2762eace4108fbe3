// Package maintenance stops everything in an environment that can write to the database
// (the API service and the background-jobs schedule) and later restores exactly what was
// there. What to restore is kept in tags on the ECS service itself, so `off` works from
// any machine and `on` twice never forgets the original desired count.
package maintenance

import (
	"context"
	"fmt"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/knowmetools/km-release/internal/config"
)

const (
	tagDesiredCount = "kmdeploy:maintenance:desired-count"
	tagRuleState    = "kmdeploy:maintenance:jobs-rule-state"
)

// ECSAPI and EventsAPI are the parts of the SDK clients maintenance uses.
type ECSAPI interface {
	DescribeServices(context.Context, *ecs.DescribeServicesInput, ...func(*ecs.Options)) (*ecs.DescribeServicesOutput, error)
	UpdateService(context.Context, *ecs.UpdateServiceInput, ...func(*ecs.Options)) (*ecs.UpdateServiceOutput, error)
	ListTagsForResource(context.Context, *ecs.ListTagsForResourceInput, ...func(*ecs.Options)) (*ecs.ListTagsForResourceOutput, error)
	TagResource(context.Context, *ecs.TagResourceInput, ...func(*ecs.Options)) (*ecs.TagResourceOutput, error)
	UntagResource(context.Context, *ecs.UntagResourceInput, ...func(*ecs.Options)) (*ecs.UntagResourceOutput, error)
}

type EventsAPI interface {
	DescribeRule(context.Context, *eventbridge.DescribeRuleInput, ...func(*eventbridge.Options)) (*eventbridge.DescribeRuleOutput, error)
	EnableRule(context.Context, *eventbridge.EnableRuleInput, ...func(*eventbridge.Options)) (*eventbridge.EnableRuleOutput, error)
	DisableRule(context.Context, *eventbridge.DisableRuleInput, ...func(*eventbridge.Options)) (*eventbridge.DisableRuleOutput, error)
}

// Needs are the environment's names maintenance mode reads.
var Needs = config.Needs{Required: []config.Field{config.Cluster, config.Service, config.JobsScheduleRule}}

// Target names what maintenance mode stops.
type Target struct {
	Cluster, Service string
	JobsRule         string // EventBridge rule of the background jobs; empty: none
}

// State is what maintenance mode found or left.
type State struct {
	On           bool
	DesiredCount int32  // the service's desired count now
	Remembered   int32  // the count `off` restores (when On)
	RuleState    string // ENABLED / DISABLED now
}

// Manager switches maintenance mode.
type Manager struct {
	ECS    ECSAPI
	Events EventsAPI
	Logf   func(format string, args ...any)
}

// Status reports whether maintenance mode is on.
func (m *Manager) Status(ctx context.Context, t Target) (*State, error) {
	st, _, err := m.status(ctx, t)
	return st, err
}

// found is what status read, so On and Off act on it without asking AWS again.
type found struct {
	serviceARN *string
	tags       map[string]string
}

func (m *Manager) status(ctx context.Context, t Target) (*State, *found, error) {
	svc, err := m.service(ctx, t)
	if err != nil {
		return nil, nil, err
	}
	tags, err := m.tags(ctx, svc)
	if err != nil {
		return nil, nil, err
	}
	st := &State{DesiredCount: svc.DesiredCount}
	if v, ok := tags[tagDesiredCount]; ok {
		n, err := strconv.ParseInt(v, 10, 32)
		if err != nil {
			return nil, nil, fmt.Errorf("service %s has a damaged %s tag %q: set it to the desired count to restore", t.Service, tagDesiredCount, v)
		}
		st.On, st.Remembered = true, int32(n)
	}
	if t.JobsRule != "" {
		rule, err := m.Events.DescribeRule(ctx, &eventbridge.DescribeRuleInput{Name: aws.String(t.JobsRule)})
		if err != nil {
			return nil, nil, fmt.Errorf("reading the jobs schedule %s: %w", t.JobsRule, err)
		}
		st.RuleState = string(rule.State)
	}
	return st, &found{serviceARN: svc.ServiceArn, tags: tags}, nil
}

// On remembers the service's desired count and the schedule's state, then scales the
// service to zero and disables the schedule. Calling it again changes nothing.
func (m *Manager) On(ctx context.Context, t Target) (*State, error) {
	st, seen, err := m.status(ctx, t)
	if err != nil {
		return nil, err
	}
	if !st.On {
		tags := []ecstypes.Tag{{Key: aws.String(tagDesiredCount), Value: aws.String(strconv.Itoa(int(st.DesiredCount)))}}
		if t.JobsRule != "" {
			tags = append(tags, ecstypes.Tag{Key: aws.String(tagRuleState), Value: aws.String(st.RuleState)})
		}
		// Remember first: if anything below fails, `off` still knows what to restore.
		if _, err := m.ECS.TagResource(ctx, &ecs.TagResourceInput{ResourceArn: seen.serviceARN, Tags: tags}); err != nil {
			return nil, fmt.Errorf("remembering the service's state: %w", err)
		}
		st.On, st.Remembered = true, st.DesiredCount
	}
	if t.JobsRule != "" && st.RuleState != string(ebtypes.RuleStateDisabled) {
		if _, err := m.Events.DisableRule(ctx, &eventbridge.DisableRuleInput{Name: aws.String(t.JobsRule)}); err != nil {
			return nil, fmt.Errorf("disabling the jobs schedule %s: %w", t.JobsRule, err)
		}
		m.logf("jobs schedule %s disabled", t.JobsRule)
		st.RuleState = string(ebtypes.RuleStateDisabled)
	}
	if st.DesiredCount != 0 {
		if _, err := m.ECS.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String(t.Cluster), Service: aws.String(t.Service), DesiredCount: aws.Int32(0)}); err != nil {
			return nil, fmt.Errorf("scaling %s to zero: %w", t.Service, err)
		}
		m.logf("service %s scaled from %d to 0 tasks", t.Service, st.DesiredCount)
		st.DesiredCount = 0
	}
	return st, nil
}

// Off restores the remembered desired count and schedule state. When maintenance mode
// is not on it changes nothing.
func (m *Manager) Off(ctx context.Context, t Target) (*State, error) {
	st, seen, err := m.status(ctx, t)
	if err != nil || !st.On {
		return st, err
	}
	if _, err := m.ECS.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String(t.Cluster), Service: aws.String(t.Service), DesiredCount: aws.Int32(st.Remembered)}); err != nil {
		return nil, fmt.Errorf("restoring %s to %d tasks: %w", t.Service, st.Remembered, err)
	}
	m.logf("service %s restored to %d tasks", t.Service, st.Remembered)
	st.DesiredCount = st.Remembered
	if was := seen.tags[tagRuleState]; t.JobsRule != "" && was == string(ebtypes.RuleStateEnabled) && st.RuleState != was {
		if _, err := m.Events.EnableRule(ctx, &eventbridge.EnableRuleInput{Name: aws.String(t.JobsRule)}); err != nil {
			return nil, fmt.Errorf("re-enabling the jobs schedule %s: %w", t.JobsRule, err)
		}
		m.logf("jobs schedule %s enabled", t.JobsRule)
		st.RuleState = was
	}
	if _, err := m.ECS.UntagResource(ctx, &ecs.UntagResourceInput{ResourceArn: seen.serviceARN, TagKeys: []string{tagDesiredCount, tagRuleState}}); err != nil {
		return nil, fmt.Errorf("clearing the maintenance tags: %w", err)
	}
	st.On = false
	return st, nil
}

func (m *Manager) service(ctx context.Context, t Target) (*ecstypes.Service, error) {
	out, err := m.ECS.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(t.Cluster), Services: []string{t.Service}})
	if err != nil {
		return nil, fmt.Errorf("describing service %s: %w", t.Service, err)
	}
	if len(out.Services) == 0 || aws.ToString(out.Services[0].Status) == "INACTIVE" {
		return nil, fmt.Errorf("service %s not found in cluster %s: check KM_ENV and the Terraform outputs", t.Service, t.Cluster)
	}
	return &out.Services[0], nil
}

func (m *Manager) tags(ctx context.Context, svc *ecstypes.Service) (map[string]string, error) {
	out, err := m.ECS.ListTagsForResource(ctx, &ecs.ListTagsForResourceInput{ResourceArn: svc.ServiceArn})
	if err != nil {
		return nil, fmt.Errorf("reading the service's tags: %w", err)
	}
	tags := map[string]string{}
	for _, tag := range out.Tags {
		tags[aws.ToString(tag.Key)] = aws.ToString(tag.Value)
	}
	return tags, nil
}

func (m *Manager) logf(format string, args ...any) {
	if m.Logf != nil {
		m.Logf(format, args...)
	}
}
