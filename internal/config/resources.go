package config

// Resources are the names of one environment's AWS resources. They come from the
// Terraform outputs of the environment's workspace (infra/outputs.tf), so users never
// repeat them; the `output` tag is the Terraform output name, and the `env` tag the
// variable that overrides it (lists are comma-separated).
type Resources struct {
	Cluster              string   `output:"cluster_name" env:"KM_CLUSTER"`
	Service              string   `output:"service_name" env:"KM_SERVICE"`
	TaskFamily           string   `output:"task_family" env:"KM_TASK_FAMILY"`
	TaskDefinition       string   `output:"task_definition_arn" env:"KM_TASK_DEFINITION"`
	ContainerName        string   `output:"container_name" env:"KM_CONTAINER_NAME"`
	ContainerPort        int32    `output:"container_port" env:"KM_CONTAINER_PORT"`
	TaskSubnets          []string `output:"task_subnet_ids" env:"KM_TASK_SUBNETS"`
	TaskSecurityGroups   []string `output:"task_security_group_ids" env:"KM_TASK_SECURITY_GROUPS"`
	CodeDeployApp        string   `output:"codedeploy_app_name" env:"KM_CODE_DEPLOY_APP"`
	CodeDeployGroup      string   `output:"codedeploy_deployment_group_name" env:"KM_CODE_DEPLOY_GROUP"`
	MigrationHookEvent   string   `output:"migration_hook_event" env:"KM_MIGRATION_HOOK_EVENT"`
	MigrateFunction      string   `output:"migrate_lambda_name" env:"KM_MIGRATE_FUNCTION"`
	JobsFunction         string   `output:"jobs_lambda_name" env:"KM_JOBS_FUNCTION"`
	JobsScheduleRule     string   `output:"jobs_schedule_rule_name" env:"KM_JOBS_SCHEDULE_RULE"`
	ProdListenerARN      string   `output:"prod_listener_arn" env:"KM_PROD_LISTENER_ARN"`
	TestListenerARN      string   `output:"test_listener_arn" env:"KM_TEST_LISTENER_ARN"`
	TargetGroupBlue      string   `output:"target_group_blue_arn" env:"KM_TARGET_GROUP_BLUE"`
	TargetGroupGreen     string   `output:"target_group_green_arn" env:"KM_TARGET_GROUP_GREEN"`
	ECRRepositoryURL     string   `output:"ecr_repository_url" env:"KM_ECR_REPOSITORY_URL"`
	LogGroup             string   `output:"log_group_name" env:"KM_LOG_GROUP"`
	WebBucket            string   `output:"web_bucket_name" env:"KM_WEB_BUCKET"`
	DistributionID       string   `output:"cloudfront_distribution_id" env:"KM_DISTRIBUTION_ID"`
	DistributionDomain   string   `output:"cloudfront_domain_name" env:"KM_DISTRIBUTION_DOMAIN"`
	APIURL               string   `output:"api_url" env:"KM_API_URL"`
	WebURL               string   `output:"web_url" env:"KM_WEB_URL"`
	MediaBucket          string   `output:"media_bucket_name" env:"KM_MEDIA_BUCKET"`
	DBInstanceID         string   `output:"db_instance_id" env:"KM_DB_INSTANCE_ID"`
	DBEndpoint           string   `output:"db_endpoint" env:"KM_DB_ENDPOINT"`
	DBName               string   `output:"db_name" env:"KM_DB_NAME"`
	DBAdminSecretARN     string   `output:"db_admin_secret_arn" env:"KM_DB_ADMIN_SECRET_ARN"`
	DBAppSecretARN       string   `output:"db_app_secret_arn" env:"KM_DB_APP_SECRET_ARN"`
	GitHubActionsRoleARN string   `output:"github_actions_role_arn" env:"KM_GITHUB_ACTIONS_ROLE_ARN"`
}
