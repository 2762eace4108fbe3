package config

import (
	"fmt"
	"reflect"
	"slices"
)

// Field is one resource name of an environment: a field of Resources, provided by a
// Terraform output and overridden by a KM_* variable. Only the values declared below
// exist, so an operation that declares a need with a typo does not compile.
type Field struct{ index int }

// field returns the Field of the Resources field called name; a name Resources lacks
// stops the program at start-up (and every test).
func field(name string) Field {
	f, ok := reflect.TypeFor[Resources]().FieldByName(name)
	if !ok {
		panic("config: Resources has no field " + name)
	}
	return Field{index: f.Index[0]}
}

// The resource names, one per field of Resources.
var (
	Cluster              = field("Cluster")
	Service              = field("Service")
	TaskFamily           = field("TaskFamily")
	TaskDefinition       = field("TaskDefinition")
	ContainerName        = field("ContainerName")
	ContainerPort        = field("ContainerPort")
	TaskSubnets          = field("TaskSubnets")
	TaskSecurityGroups   = field("TaskSecurityGroups")
	CodeDeployApp        = field("CodeDeployApp")
	CodeDeployGroup      = field("CodeDeployGroup")
	MigrationHookEvent   = field("MigrationHookEvent")
	MigrateFunction      = field("MigrateFunction")
	JobsFunction         = field("JobsFunction")
	JobsScheduleRule     = field("JobsScheduleRule")
	ProdListenerARN      = field("ProdListenerARN")
	TestListenerARN      = field("TestListenerARN")
	TargetGroupBlue      = field("TargetGroupBlue")
	TargetGroupGreen     = field("TargetGroupGreen")
	ECRRepositoryURL     = field("ECRRepositoryURL")
	LogGroup             = field("LogGroup")
	WebBucket            = field("WebBucket")
	DistributionID       = field("DistributionID")
	DistributionDomain   = field("DistributionDomain")
	APIURL               = field("APIURL")
	WebURL               = field("WebURL")
	MediaBucket          = field("MediaBucket")
	DBInstanceID         = field("DBInstanceID")
	DBEndpoint           = field("DBEndpoint")
	DBName               = field("DBName")
	DBAdminSecretARN     = field("DBAdminSecretARN")
	DBAppSecretARN       = field("DBAppSecretARN")
	GitHubActionsRoleARN = field("GitHubActionsRoleARN")
)

func (f Field) structField() reflect.StructField { return reflect.TypeFor[Resources]().Field(f.index) }

// Name is the Go field name, e.g. "Cluster".
func (f Field) Name() string { return f.structField().Name }

// Env is the variable that overrides it, e.g. KM_CLUSTER.
func (f Field) Env() string { return f.structField().Tag.Get("env") }

// Output is the Terraform output that provides it, e.g. cluster_name.
func (f Field) Output() string { return f.structField().Tag.Get("output") }

func (f Field) String() string { return f.Env() }

// Needs is what one operation needs of its environment's resources. The operation's
// package declares it once; the configuration check (ResourcesFor) and the operation
// itself (Resources.Missing) both read that declaration.
type Needs struct {
	// Required names must be set, or the operation does not start.
	Required []Field
	// Optional names are read when the environment has them (from the same source as
	// the required ones); the operation does without them.
	Optional []Field
}

// Plus is n with m's needs added.
func (n Needs) Plus(m Needs) Needs {
	return Needs{Required: union(n.Required, m.Required), Optional: union(n.Optional, m.Optional)}
}

// all is every field the operation reads.
func (n Needs) all() []Field { return union(n.Required, n.Optional) }

func union(a, b []Field) []Field {
	out := slices.Clone(a)
	for _, f := range b {
		if !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out
}

// Missing returns the variables of the required fields that are empty, in order, so
// an operation handed Resources built elsewhere (a test, the rehearsal) reports gaps
// with the same names as ResourcesFor.
func (r *Resources) Missing(n Needs) []string {
	rv := reflect.ValueOf(r).Elem()
	var missing []string
	for _, f := range n.Required {
		if isEmpty(rv.Field(f.index)) {
			missing = append(missing, f.Env())
		}
	}
	return missing
}

// MissingError is Missing as an error naming the variables, nil when none is missing.
func (r *Resources) MissingError(n Needs) error {
	missing := r.Missing(n)
	if len(missing) == 0 {
		return nil
	}
	var probs problems
	for _, v := range missing {
		probs.add(v, "not set; set it, or apply the infrastructure so its Terraform outputs provide it")
	}
	return fmt.Errorf("environment resources incomplete: %w", probs.err())
}
