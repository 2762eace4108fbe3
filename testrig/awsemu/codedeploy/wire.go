package codedeploy

import (
	"strconv"
	"time"
)

// Wire shapes of CodeDeploy's JSON 1.1 protocol, with AWS's member names. Only the
// members the ECS blue/green emulation uses or echoes are modelled.

// epoch marshals a time as epoch seconds, the timestamp form aws-sdk-go-v2 parses in
// this protocol (moto sends strings, which the SDK rejects).
type epoch time.Time

func (t epoch) MarshalJSON() ([]byte, error) {
	return strconv.AppendFloat(nil, float64(time.Time(t).UnixMilli())/1000, 'f', 3, 64), nil
}

func at(t time.Time) *epoch {
	if t.IsZero() {
		return nil
	}
	e := epoch(t)
	return &e
}

type ecsService struct {
	ServiceName string `json:"serviceName"`
	ClusterName string `json:"clusterName"`
}

type targetGroupInfo struct {
	Name string `json:"name"`
}

type trafficRoute struct {
	ListenerArns []string `json:"listenerArns"`
}

type targetGroupPairInfo struct {
	TargetGroups     []targetGroupInfo `json:"targetGroups,omitempty"`
	ProdTrafficRoute *trafficRoute     `json:"prodTrafficRoute,omitempty"`
	TestTrafficRoute *trafficRoute     `json:"testTrafficRoute,omitempty"`
}

type loadBalancerInfo struct {
	ElbInfoList             []targetGroupInfo     `json:"elbInfoList,omitempty"`
	TargetGroupInfoList     []targetGroupInfo     `json:"targetGroupInfoList,omitempty"`
	TargetGroupPairInfoList []targetGroupPairInfo `json:"targetGroupPairInfoList,omitempty"`
}

type terminateOption struct {
	Action                       string `json:"action,omitempty"`
	TerminationWaitTimeInMinutes int    `json:"terminationWaitTimeInMinutes"`
}

type readyOption struct {
	ActionOnTimeout   string `json:"actionOnTimeout,omitempty"`
	WaitTimeInMinutes int    `json:"waitTimeInMinutes"`
}

type greenFleetOption struct {
	Action string `json:"action,omitempty"`
}

type blueGreenConfig struct {
	TerminateBlueInstancesOnDeploymentSuccess *terminateOption  `json:"terminateBlueInstancesOnDeploymentSuccess,omitempty"`
	DeploymentReadyOption                     *readyOption      `json:"deploymentReadyOption,omitempty"`
	GreenFleetProvisioningOption              *greenFleetOption `json:"greenFleetProvisioningOption,omitempty"`
}

type autoRollback struct {
	Enabled bool     `json:"enabled"`
	Events  []string `json:"events,omitempty"`
}

type deploymentStyle struct {
	DeploymentType   string `json:"deploymentType,omitempty"`
	DeploymentOption string `json:"deploymentOption,omitempty"`
}

type lastDeploymentInfo struct {
	DeploymentID string `json:"deploymentId,omitempty"`
	Status       string `json:"status,omitempty"`
	EndTime      *epoch `json:"endTime,omitempty"`
	CreateTime   *epoch `json:"createTime,omitempty"`
}

type rawContent struct {
	Content string `json:"content,omitempty"`
	Sha256  string `json:"sha256,omitempty"`
}

type revisionLocation struct {
	RevisionType   string      `json:"revisionType,omitempty"`
	AppSpecContent *rawContent `json:"appSpecContent,omitempty"`
	String         *rawContent `json:"string,omitempty"`
	S3Location     any         `json:"s3Location,omitempty"`
	GitHubLocation any         `json:"gitHubLocation,omitempty"`
}

type applicationInfo struct {
	ApplicationID   string `json:"applicationId"`
	ApplicationName string `json:"applicationName"`
	ComputePlatform string `json:"computePlatform"`
	CreateTime      *epoch `json:"createTime,omitempty"`
	LinkedToGitHub  bool   `json:"linkedToGitHub"`
}

// groupSettings are the members CreateDeploymentGroup takes and GetDeploymentGroup echoes.
type groupSettings struct {
	DeploymentConfigName             string            `json:"deploymentConfigName,omitempty"`
	ServiceRoleArn                   string            `json:"serviceRoleArn,omitempty"`
	EcsServices                      []ecsService      `json:"ecsServices,omitempty"`
	LoadBalancerInfo                 *loadBalancerInfo `json:"loadBalancerInfo,omitempty"`
	BlueGreenDeploymentConfiguration *blueGreenConfig  `json:"blueGreenDeploymentConfiguration,omitempty"`
	AutoRollbackConfiguration        *autoRollback     `json:"autoRollbackConfiguration,omitempty"`
	DeploymentStyle                  *deploymentStyle  `json:"deploymentStyle,omitempty"`
	AlarmConfiguration               any               `json:"alarmConfiguration,omitempty"`
	TriggerConfigurations            []any             `json:"triggerConfigurations,omitempty"`
	OutdatedInstancesStrategy        string            `json:"outdatedInstancesStrategy,omitempty"`
}

type deploymentGroupInfo struct {
	ApplicationName     string `json:"applicationName"`
	DeploymentGroupID   string `json:"deploymentGroupId"`
	DeploymentGroupName string `json:"deploymentGroupName"`
	ComputePlatform     string `json:"computePlatform"`
	groupSettings
	TargetRevision           *revisionLocation   `json:"targetRevision,omitempty"`
	LastSuccessfulDeployment *lastDeploymentInfo `json:"lastSuccessfulDeployment,omitempty"`
	LastAttemptedDeployment  *lastDeploymentInfo `json:"lastAttemptedDeployment,omitempty"`
}

type minimumHealthyHosts struct {
	Type  string `json:"type,omitempty"`
	Value int    `json:"value"`
}

type timeBasedCanary struct {
	CanaryPercentage int `json:"canaryPercentage"`
	CanaryInterval   int `json:"canaryInterval"`
}

type timeBasedLinear struct {
	LinearPercentage int `json:"linearPercentage"`
	LinearInterval   int `json:"linearInterval"`
}

type trafficRoutingConfig struct {
	Type            string           `json:"type,omitempty"`
	TimeBasedCanary *timeBasedCanary `json:"timeBasedCanary,omitempty"`
	TimeBasedLinear *timeBasedLinear `json:"timeBasedLinear,omitempty"`
}

type deploymentConfigInfo struct {
	DeploymentConfigID   string                `json:"deploymentConfigId"`
	DeploymentConfigName string                `json:"deploymentConfigName"`
	ComputePlatform      string                `json:"computePlatform"`
	CreateTime           *epoch                `json:"createTime,omitempty"`
	MinimumHealthyHosts  *minimumHealthyHosts  `json:"minimumHealthyHosts,omitempty"`
	TrafficRoutingConfig *trafficRoutingConfig `json:"trafficRoutingConfig,omitempty"`
}

type errorInformation struct {
	Code    string `json:"code,omitempty"`
	Message string `json:"message,omitempty"`
}

type rollbackInfo struct {
	RollbackDeploymentID           string `json:"rollbackDeploymentId,omitempty"`
	RollbackTriggeringDeploymentID string `json:"rollbackTriggeringDeploymentId,omitempty"`
	RollbackMessage                string `json:"rollbackMessage,omitempty"`
}

type deploymentOverview struct {
	Pending    int64 `json:"Pending"`
	InProgress int64 `json:"InProgress"`
	Succeeded  int64 `json:"Succeeded"`
	Failed     int64 `json:"Failed"`
	Skipped    int64 `json:"Skipped"`
	Ready      int64 `json:"Ready"`
}

type deploymentInfo struct {
	ApplicationName                    string              `json:"applicationName"`
	DeploymentGroupName                string              `json:"deploymentGroupName"`
	DeploymentConfigName               string              `json:"deploymentConfigName"`
	DeploymentID                       string              `json:"deploymentId"`
	PreviousRevision                   *revisionLocation   `json:"previousRevision,omitempty"`
	Revision                           *revisionLocation   `json:"revision,omitempty"`
	Status                             string              `json:"status"`
	ErrorInformation                   *errorInformation   `json:"errorInformation,omitempty"`
	CreateTime                         *epoch              `json:"createTime,omitempty"`
	StartTime                          *epoch              `json:"startTime,omitempty"`
	CompleteTime                       *epoch              `json:"completeTime,omitempty"`
	DeploymentOverview                 *deploymentOverview `json:"deploymentOverview,omitempty"`
	Description                        string              `json:"description,omitempty"`
	Creator                            string              `json:"creator"`
	AutoRollbackConfiguration          *autoRollback       `json:"autoRollbackConfiguration,omitempty"`
	RollbackInfo                       *rollbackInfo       `json:"rollbackInfo,omitempty"`
	DeploymentStyle                    *deploymentStyle    `json:"deploymentStyle,omitempty"`
	InstanceTerminationWaitTimeStarted bool                `json:"instanceTerminationWaitTimeStarted"`
	BlueGreenDeploymentConfiguration   *blueGreenConfig    `json:"blueGreenDeploymentConfiguration,omitempty"`
	LoadBalancerInfo                   *loadBalancerInfo   `json:"loadBalancerInfo,omitempty"`
	DeploymentStatusMessages           []string            `json:"deploymentStatusMessages,omitempty"`
	ComputePlatform                    string              `json:"computePlatform"`
	ExternalID                         string              `json:"externalId,omitempty"`
}

type diagnostics struct {
	ErrorCode  string `json:"errorCode,omitempty"`
	ScriptName string `json:"scriptName,omitempty"`
	Message    string `json:"message,omitempty"`
	LogTail    string `json:"logTail,omitempty"`
}

type lifecycleEvent struct {
	LifecycleEventName string       `json:"lifecycleEventName"`
	Diagnostics        *diagnostics `json:"diagnostics,omitempty"`
	StartTime          *epoch       `json:"startTime,omitempty"`
	EndTime            *epoch       `json:"endTime,omitempty"`
	Status             string       `json:"status"`
}

type ecsTaskSet struct {
	Identifer     string           `json:"identifer"` // sic: AWS's member name
	DesiredCount  int64            `json:"desiredCount"`
	PendingCount  int64            `json:"pendingCount"`
	RunningCount  int64            `json:"runningCount"`
	Status        string           `json:"status"`
	TrafficWeight float64          `json:"trafficWeight"`
	TargetGroup   *targetGroupInfo `json:"targetGroup,omitempty"`
	TaskSetLabel  string           `json:"taskSetLabel"`
}

type ecsTarget struct {
	DeploymentID    string           `json:"deploymentId"`
	TargetID        string           `json:"targetId"`
	TargetArn       string           `json:"targetArn"`
	LastUpdatedAt   *epoch           `json:"lastUpdatedAt,omitempty"`
	LifecycleEvents []lifecycleEvent `json:"lifecycleEvents"`
	Status          string           `json:"status"`
	TaskSetsInfo    []ecsTaskSet     `json:"taskSetsInfo,omitempty"`
}

type deploymentTarget struct {
	DeploymentTargetType string     `json:"deploymentTargetType"`
	EcsTarget            *ecsTarget `json:"ecsTarget,omitempty"`
}
