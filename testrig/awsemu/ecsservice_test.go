package awsemu_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/knowmetools/km-release/testrig/awsemu/emutest"
)

// Terraform's aws_ecs_service reads these back; moto drops them from CreateService.
func TestCreateServiceKeepsSettings(t *testing.T) {
	emu := emutest.Start(t)
	f := newFargateFixture(t, emu)
	ctx := t.Context()
	created, err := f.ecs.CreateService(ctx, &ecs.CreateServiceInput{
		Cluster: aws.String(f.name), ServiceName: aws.String("api"), TaskDefinition: aws.String(f.td),
		DesiredCount: aws.Int32(1), LaunchType: ecstypes.LaunchTypeFargate, NetworkConfiguration: f.network,
		HealthCheckGracePeriodSeconds: aws.Int32(60),
		EnableECSManagedTags:          true,
		AvailabilityZoneRebalancing:   ecstypes.AvailabilityZoneRebalancingDisabled,
	})
	if err != nil {
		t.Fatalf("CreateService: %v", err)
	}
	described, err := f.ecs.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(f.name), Services: []string{"api"}})
	if err != nil || len(described.Services) != 1 {
		t.Fatalf("DescribeServices: %+v, %v", described, err)
	}
	for what, s := range map[string]*ecstypes.Service{"CreateService": created.Service, "DescribeServices": &described.Services[0]} {
		if aws.ToInt32(s.HealthCheckGracePeriodSeconds) != 60 || !s.EnableECSManagedTags ||
			s.AvailabilityZoneRebalancing != ecstypes.AvailabilityZoneRebalancingDisabled {
			t.Errorf("%s: healthCheckGracePeriodSeconds %d, enableECSManagedTags %v, availabilityZoneRebalancing %q; want 60, true, DISABLED",
				what, aws.ToInt32(s.HealthCheckGracePeriodSeconds), s.EnableECSManagedTags, s.AvailabilityZoneRebalancing)
		}
	}
}
