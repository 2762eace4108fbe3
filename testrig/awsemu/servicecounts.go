package awsemu

import (
	"encoding/json"
	"net/http"
)

// fixServiceCounts replaces moto's runningCount and pendingCount in DescribeServices
// with the service's tasks this emulation runs (group "service:<name>"), as ECS counts
// them. Services whose tasks the emulation never ran keep moto's numbers.
func (ts *taskService) fixServiceCounts(resp *http.Response) error {
	if resp.StatusCode != http.StatusOK {
		return nil
	}
	return rewriteBody(resp, func(b []byte) ([]byte, error) {
		var doc map[string]json.RawMessage
		if err := json.Unmarshal(b, &doc); err != nil {
			return b, nil
		}
		var services []map[string]any
		if err := json.Unmarshal(doc["services"], &services); err != nil {
			return b, nil
		}
		for _, svc := range services {
			cluster, _ := svc["clusterArn"].(string)
			name, _ := svc["serviceName"].(string)
			running, pending, seen := ts.serviceCounts(cluster, "service:"+name)
			if seen {
				svc["runningCount"], svc["pendingCount"] = running, pending
			}
		}
		out, err := json.Marshal(services)
		if err != nil {
			return b, nil
		}
		doc["services"] = out
		return json.Marshal(doc)
	})
}

func (ts *taskService) serviceCounts(clusterARN, group string) (running, pending int, seen bool) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	for _, t := range ts.tasks {
		if t.clusterARN != clusterARN || t.group != group {
			continue
		}
		seen = true
		switch t.lastStatus {
		case "RUNNING":
			running++
		case "PROVISIONING", "PENDING", "ACTIVATING":
			pending++
		}
	}
	return running, pending, seen
}
