package config

// Resources are the names of one environment's AWS resources. They come from the
// Terraform outputs of the environment's workspace (infra/outputs.tf), so users never
// repeat them; the `output` tag is the Terraform output name.
type Resources struct {
	Cluster              string   `output:"cluster_name"`
	Service              string   `output:"service_name"`
	TaskFamily           string   `output:"task_family"`
	ContainerName        string   `output:"container_name"`
	ContainerPort        int32    `output:"container_port"`
	TaskSubnets          []string `output:"task_subnet_ids"`
	TaskSecurityGroups   []string `output:"task_security_group_ids"`
	CodeDeployApp        string   `output:"codedeploy_app_name"`
	CodeDeployGroup      string   `output:"codedeploy_deployment_group_name"`
	MigrationHookEvent   string   `output:"migration_hook_event"`
	MigrateFunction      string   `output:"migrate_lambda_name"`
	JobsFunction         string   `output:"jobs_lambda_name"`
	JobsScheduleRule     string   `output:"jobs_schedule_rule_name"`
	ProdListenerARN      string   `output:"prod_listener_arn"`
	TestListenerARN      string   `output:"test_listener_arn"`
	TargetGroupBlue      string   `output:"target_group_blue_arn"`
	TargetGroupGreen     string   `output:"target_group_green_arn"`
	ECRRepositoryURL     string   `output:"ecr_repository_url"`
	LogGroup             string   `output:"log_group_name"`
	WebBucket            string   `output:"web_bucket_name"`
	DistributionID       string   `output:"cloudfront_distribution_id"`
	DistributionDomain   string   `output:"cloudfront_domain_name"`
	APIURL               string   `output:"api_url"`
	WebURL               string   `output:"web_url"`
	MediaBucket          string   `output:"media_bucket_name"`
	DBInstanceID         string   `output:"db_instance_id"`
	DBEndpoint           string   `output:"db_endpoint"`
	DBName               string   `output:"db_name"`
	DBAdminSecretARN     string   `output:"db_admin_secret_arn"`
	DBAppSecretARN       string   `output:"db_app_secret_arn"`
	GitHubActionsRoleARN string   `output:"github_actions_role_arn"`
}
