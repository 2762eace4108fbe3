package awsemu

import (
	"encoding/json"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// serviceSettings are CreateService settings moto ignores but keeps when they come
// through UpdateService (it stores every UpdateService field on the service).
type serviceSettings struct {
	HealthCheckGracePeriodSeconds *int32 `json:"healthCheckGracePeriodSeconds,omitempty"`
	EnableECSManagedTags          *bool  `json:"enableECSManagedTags,omitempty"`
	AvailabilityZoneRebalancing   string `json:"availabilityZoneRebalancing,omitempty"`
}

// keepServiceSettings makes a created service keep healthCheckGracePeriodSeconds,
// enableECSManagedTags and availabilityZoneRebalancing: once moto has created the
// service, they are set on it with an UpdateService to moto, and added to the
// CreateService answer. Later DescribeServices answers have them from moto.
func (ts *taskService) keepServiceSettings(r *http.Request) responseFix {
	var s serviceSettings
	if json.Unmarshal(readBody(r), &s) != nil ||
		s.HealthCheckGracePeriodSeconds == nil && s.EnableECSManagedTags == nil && s.AvailabilityZoneRebalancing == "" {
		return nil
	}
	return func(resp *http.Response) error {
		if resp.StatusCode != http.StatusOK {
			return nil
		}
		return rewriteBody(resp, func(b []byte) ([]byte, error) {
			var doc struct {
				Service map[string]any `json:"service"`
			}
			if json.Unmarshal(b, &doc) != nil || doc.Service == nil {
				return b, nil
			}
			cluster, _ := doc.Service["clusterArn"].(string)
			service, _ := doc.Service["serviceArn"].(string)
			if _, err := ts.ecs.UpdateService(resp.Request.Context(), &ecs.UpdateServiceInput{
				Cluster: aws.String(cluster), Service: aws.String(service),
				HealthCheckGracePeriodSeconds: s.HealthCheckGracePeriodSeconds,
				EnableECSManagedTags:          s.EnableECSManagedTags,
				AvailabilityZoneRebalancing:   ecstypes.AvailabilityZoneRebalancing(s.AvailabilityZoneRebalancing),
			}); err != nil {
				ts.e.opts.Logf("awsemu: CreateService %s: keeping moto's answer: %v", service, err)
				return b, nil
			}
			settings, _ := json.Marshal(s)
			_ = json.Unmarshal(settings, &doc.Service) // adds the settings to the service
			return json.Marshal(doc)
		})
	}
}
