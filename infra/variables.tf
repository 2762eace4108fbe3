# ---- General -------------------------------------------------------------------------

variable "aws_region" {
  description = "AWS region of the environment (everything except the CloudFront certificate, which is always in us-east-1). Default: the region of the credentials' environment (AWS_REGION), the one kmdeploy uses."
  type        = string
  default     = null

  validation {
    condition     = var.aws_region == null || can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.aws_region))
    error_message = "aws_region must be an AWS region code such as us-east-1."
  }
}

variable "name_prefix" {
  description = "Prefix of every resource name; the workspace (environment) name is appended."
  type        = string
  default     = "km"

  validation {
    # 5 + "-" + 20-character workspace + "-green" = 32, the target group name limit.
    condition     = can(regex("^[a-z][a-z0-9]{1,4}$", var.name_prefix))
    error_message = "name_prefix must be 2-5 lowercase letters or digits, starting with a letter (target group names are limited to 32 characters)."
  }
}

variable "tags" {
  description = "Extra tags for every resource (Project, Environment and ManagedBy are always set)."
  type        = map(string)
  default     = {}
}

# ---- DNS -----------------------------------------------------------------------------

variable "dns_zone_name" {
  description = "Name of the existing public Route53 hosted zone that holds the environment's records, e.g. knowme.works."
  type        = string

  validation {
    condition     = can(regex("^([a-z0-9-]+\\.)+[a-z]{2,}$", var.dns_zone_name))
    error_message = "dns_zone_name must be a DNS zone name without trailing dot, such as knowme.works."
  }
}

variable "api_domain" {
  description = "Host name of the API. Default: api.<zone> in production, api.<environment>.<zone> elsewhere."
  type        = string
  default     = null
}

variable "web_domain" {
  description = "Host name of the web app. Default: app.<zone> in production, app.<environment>.<zone> elsewhere."
  type        = string
  default     = null
}

# ---- Network -------------------------------------------------------------------------

variable "use_default_vpc" {
  description = "Use the account's default VPC and its public subnets instead of creating a VPC (cheap disposable environments; tasks then get public IPs)."
  type        = bool
  default     = false
}

variable "vpc_cidr" {
  description = "CIDR block of the environment's VPC (ignored with use_default_vpc); subnets are /24s carved from it."
  type        = string
  default     = "10.20.0.0/16"

  validation {
    condition     = can(cidrhost(var.vpc_cidr, 0)) && try(tonumber(split("/", var.vpc_cidr)[1]) <= 20, false)
    error_message = "vpc_cidr must be an IPv4 CIDR block of /20 or larger."
  }
}

variable "single_nat_gateway" {
  description = "One NAT gateway for both private subnets (cheaper) instead of one per availability zone (survives an AZ outage)."
  type        = bool
  default     = true
}

# ---- API service ---------------------------------------------------------------------

variable "api_image" {
  description = "Image of the task definition Terraform registers. Deployments register their own revisions, so this only matters until the first deployment. Default: the ECR repository's 'bootstrap' tag."
  type        = string
  default     = null
}

variable "api_cpu_architecture" {
  description = "CPU architecture of the API image (Fargate runtime platform)."
  type        = string
  default     = "X86_64"

  validation {
    condition     = contains(["X86_64", "ARM64"], var.api_cpu_architecture)
    error_message = "api_cpu_architecture must be X86_64 or ARM64."
  }
}

variable "api_cpu" {
  description = "Fargate CPU units of one API task."
  type        = number
  default     = 512

  validation {
    condition     = contains([256, 512, 1024, 2048, 4096], var.api_cpu)
    error_message = "api_cpu must be one of the Fargate sizes 256, 512, 1024, 2048 or 4096."
  }
}

variable "api_memory" {
  description = "Memory (MiB) of one API task; must be a valid Fargate combination with api_cpu."
  type        = number
  default     = 1024

  validation {
    condition     = var.api_memory >= 512 && var.api_memory <= 30720
    error_message = "api_memory must be between 512 and 30720 MiB."
  }
}

variable "api_desired_count" {
  description = "Number of API tasks. Default: 2 in production, 1 elsewhere."
  type        = number
  default     = null

  validation {
    condition     = var.api_desired_count == null || try(var.api_desired_count >= 1, false)
    error_message = "api_desired_count must be at least 1."
  }
}

variable "container_name" {
  description = "Name of the API container in the task definition (kmdeploy and the Lambdas address it by this name)."
  type        = string
  default     = "api"

  validation {
    condition     = can(regex("^[a-zA-Z0-9_-]{1,255}$", var.container_name))
    error_message = "container_name may only contain letters, digits, '_' and '-'."
  }
}

variable "container_port" {
  description = "Port the API container listens on (the app contract: gunicorn on 8000)."
  type        = number
  default     = 8000

  validation {
    condition     = var.container_port > 0 && var.container_port < 65536
    error_message = "container_port must be a TCP port number."
  }
}

variable "api_environment" {
  description = "Extra non-secret environment variables of the API container. Secrets go in api_secrets."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for k in keys(var.api_environment) : !can(regex("(?i)(password|secret|token|key)", k))])
    error_message = "api_environment must not hold secrets (a name contains PASSWORD, SECRET, TOKEN or KEY): put them in api_secrets, which is stored in Secrets Manager."
  }
}

variable "api_secrets" {
  description = "Extra secret environment variables of the API container (name => value). Stored in Secrets Manager and injected by ECS, never in the task definition's plain environment."
  type        = map(string)
  default     = {}
  sensitive   = true
}

variable "admin_email" {
  description = "E-mail of the API's admin user, created by the migrate command. Default: admin@<dns zone>."
  type        = string
  default     = null
}

variable "ecr_keep_images" {
  description = "How many images the ECR lifecycle policy keeps (older ones are expired)."
  type        = number
  default     = 30

  validation {
    condition     = var.ecr_keep_images >= 5
    error_message = "ecr_keep_images must be at least 5, so that rollbacks find their image."
  }
}

variable "ecr_image_tag_mutability" {
  description = "ECR tag mutability. MUTABLE lets a pipeline re-run push the same commit tag again; deployments pin images by digest either way."
  type        = string
  default     = "MUTABLE"

  validation {
    condition     = contains(["MUTABLE", "IMMUTABLE"], var.ecr_image_tag_mutability)
    error_message = "ecr_image_tag_mutability must be MUTABLE or IMMUTABLE."
  }
}

variable "log_retention_days" {
  description = "Retention of the API and Lambda log groups, in days."
  type        = number
  default     = 30

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a value CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, ...)."
  }
}

# ---- Load balancer -------------------------------------------------------------------

variable "test_listener_port" {
  description = "Port of the ALB's test listener, on which CodeDeploy exposes the new version before the switch."
  type        = number
  default     = 8443

  validation {
    condition     = var.test_listener_port > 1024 && var.test_listener_port < 65536 && var.test_listener_port != 8000
    error_message = "test_listener_port must be an unprivileged port other than 80, 443 and the container port."
  }
}

variable "test_listener_cidrs" {
  description = "IPv4 CIDR blocks allowed to reach the test listener (e.g. the office or a CI egress range). Empty: nobody from outside."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for c in var.test_listener_cidrs : can(cidrhost(c, 0)) && c != "0.0.0.0/0"])
    error_message = "test_listener_cidrs must be IPv4 CIDR blocks, and not 0.0.0.0/0: the test listener serves untested versions."
  }
}

variable "alb_ssl_policy" {
  description = "TLS policy of the ALB's HTTPS listeners."
  type        = string
  default     = "ELBSecurityPolicy-TLS13-1-2-2021-06"
}

# ---- CodeDeploy ----------------------------------------------------------------------

variable "deployment_config_name" {
  description = "CodeDeploy deployment configuration (traffic shifting) for the API."
  type        = string
  default     = "CodeDeployDefault.ECSAllAtOnce"

  validation {
    condition     = can(regex("^[A-Za-z0-9._-]{1,100}$", var.deployment_config_name))
    error_message = "deployment_config_name must name a CodeDeploy ECS deployment configuration."
  }
}

variable "termination_wait_minutes" {
  description = "Minutes the old (blue) tasks keep running after a successful switch, the window for a fast rollback."
  type        = number
  default     = 5

  validation {
    condition     = var.termination_wait_minutes >= 0 && var.termination_wait_minutes <= 2880
    error_message = "termination_wait_minutes must be between 0 and 2880."
  }
}

variable "rollback_alarm_names" {
  description = "CloudWatch alarms that stop and roll back a deployment when they fire. Empty: roll back on failure only."
  type        = list(string)
  default     = []
}

variable "migration_hook_event" {
  description = "CodeDeploy lifecycle event at which the migration hook runs. BeforeInstall runs migrations before any new task exists, so no traffic can reach a version whose migrations have not run."
  type        = string
  default     = "BeforeInstall"

  validation {
    condition     = contains(["BeforeInstall", "AfterInstall", "AfterAllowTestTraffic", "BeforeAllowTraffic"], var.migration_hook_event)
    error_message = "migration_hook_event must be BeforeInstall, AfterInstall, AfterAllowTestTraffic or BeforeAllowTraffic: later events would let traffic reach the new version before migrations."
  }
}

# ---- Lambdas -------------------------------------------------------------------------

variable "lambda_dist_dir" {
  description = "Directory holding the Lambda zips built by `make lambdas` (migrate-<arch>.zip, jobs-<arch>.zip). Default: dist/lambdas at the repository root."
  type        = string
  default     = null
}

variable "lambda_architecture" {
  description = "Architecture of the Lambda zips."
  type        = string
  default     = "arm64"

  validation {
    condition     = contains(["arm64", "x86_64"], var.lambda_architecture)
    error_message = "lambda_architecture must be arm64 or x86_64."
  }
}

variable "migrate_timeout_seconds" {
  description = "Timeout of the migration hook Lambda, which waits for the migration task to stop."
  type        = number
  default     = 900

  validation {
    condition     = var.migrate_timeout_seconds >= 60 && var.migrate_timeout_seconds <= 900
    error_message = "migrate_timeout_seconds must be between 60 and 900 (the Lambda maximum)."
  }
}

variable "jobs_timeout_seconds" {
  description = "Timeout of the background jobs Lambda, which waits for the jobs task to stop."
  type        = number
  default     = 900

  validation {
    condition     = var.jobs_timeout_seconds >= 60 && var.jobs_timeout_seconds <= 900
    error_message = "jobs_timeout_seconds must be between 60 and 900 (the Lambda maximum)."
  }
}

variable "migrate_command" {
  description = "Command of the API image that applies migrations (the app contract: migrate)."
  type        = string
  default     = "migrate"
}

variable "jobs_command" {
  description = "Command of the API image that runs the background jobs (the app contract: background-jobs)."
  type        = string
  default     = "background-jobs"
}

variable "jobs_schedule" {
  description = "EventBridge schedule expression of the background jobs."
  type        = string
  default     = "rate(15 minutes)"

  validation {
    condition     = can(regex("^(rate\\([0-9]+ (minute|minutes|hour|hours|day|days)\\)|cron\\(.+\\))$", var.jobs_schedule))
    error_message = "jobs_schedule must be an EventBridge schedule expression such as rate(15 minutes) or cron(0/15 * * * ? *)."
  }
}

variable "jobs_enabled" {
  description = "Whether the background jobs schedule is active."
  type        = bool
  default     = true
}

# ---- Database ------------------------------------------------------------------------

variable "db_engine_version" {
  description = "PostgreSQL major (or major.minor) version of the RDS instance."
  type        = string
  default     = "16"

  validation {
    condition     = can(regex("^[0-9]+(\\.[0-9]+)?$", var.db_engine_version))
    error_message = "db_engine_version must look like 16 or 16.4."
  }
}

variable "db_instance_class" {
  description = "RDS instance class."
  type        = string
  default     = "db.t4g.micro"

  validation {
    condition     = startswith(var.db_instance_class, "db.")
    error_message = "db_instance_class must be an RDS class such as db.t4g.micro."
  }
}

variable "db_allocated_storage" {
  description = "Initial storage of the database, in GiB."
  type        = number
  default     = 20

  validation {
    condition     = var.db_allocated_storage >= 20
    error_message = "db_allocated_storage must be at least 20 GiB (gp3 minimum)."
  }
}

variable "db_max_allocated_storage" {
  description = "Upper limit of storage autoscaling, in GiB."
  type        = number
  default     = 100
}

variable "db_name" {
  description = "Name of the application database."
  type        = string
  default     = "knowme"

  validation {
    condition     = can(regex("^[a-z][a-z0-9_]{0,62}$", var.db_name))
    error_message = "db_name must be a lowercase PostgreSQL identifier."
  }
}

variable "db_admin_username" {
  description = "Master (admin) user of the database; used only by the migrate command."
  type        = string
  default     = "km_admin"

  validation {
    condition     = can(regex("^[a-z][a-z0-9_]{0,62}$", var.db_admin_username)) && !contains(["admin", "postgres", "rdsadmin"], var.db_admin_username)
    error_message = "db_admin_username must be a lowercase identifier other than the reserved names admin, postgres and rdsadmin."
  }
}

variable "db_app_username" {
  description = "Database role the API server connects as; created by the migrate command."
  type        = string
  default     = "km_app"

  validation {
    condition     = can(regex("^[a-z][a-z0-9_]{0,62}$", var.db_app_username))
    error_message = "db_app_username must be a lowercase PostgreSQL identifier."
  }
}

variable "rotations" {
  description = "Rotation count of each generated credential: db_admin (the database master password), db_app (the API's database role) and app (Django secret key and admin user password). Raise one to generate and store a new value on the next apply; the values themselves are never in the state or a plan."
  type = object({
    db_admin = optional(number, 1)
    db_app   = optional(number, 1)
    app      = optional(number, 1)
  })
  default  = {}
  nullable = false

  validation {
    condition     = alltrue([for v in values(var.rotations) : v >= 1 && floor(v) == v])
    error_message = "rotations values must be whole numbers of at least 1; raise one to rotate that credential."
  }
}

variable "db_backup_retention_days" {
  description = "Days of automated RDS backups (point-in-time recovery window)."
  type        = number
  default     = 7

  validation {
    condition     = var.db_backup_retention_days >= 1 && var.db_backup_retention_days <= 35
    error_message = "db_backup_retention_days must be between 1 and 35: automated backups are never off."
  }
}

variable "db_multi_az" {
  description = "Run the database Multi-AZ. Default: true in production, false elsewhere."
  type        = bool
  default     = null
}

# ---- Web -----------------------------------------------------------------------------

variable "cloudfront_price_class" {
  description = "CloudFront price class of the web distribution."
  type        = string
  default     = "PriceClass_100"

  validation {
    condition     = contains(["PriceClass_All", "PriceClass_200", "PriceClass_100"], var.cloudfront_price_class)
    error_message = "cloudfront_price_class must be PriceClass_All, PriceClass_200 or PriceClass_100."
  }
}

# ---- CI access -----------------------------------------------------------------------

variable "github_repository" {
  description = "GitHub repository (owner/name) whose Actions workflows may assume the CI role."
  type        = string
  default     = "knowmetools/km-release"

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", var.github_repository))
    error_message = "github_repository must be owner/name."
  }
}

variable "github_environment" {
  description = "GitHub Actions environment whose jobs may assume the CI role. Default: the workspace name."
  type        = string
  default     = null
}

variable "github_branches" {
  description = "Branches whose workflow runs may assume the CI role without a GitHub environment (e.g. [\"main\"] for staging). Production should rely on its protected environment only."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for b in var.github_branches : b != "*" && length(b) > 0])
    error_message = "github_branches must name branches; a bare * would let any branch deploy."
  }
}

variable "manage_github_oidc_provider" {
  description = "Create the account's GitHub OIDC identity provider here. It exists once per account: set this in one long-lived environment only, or create it once by hand (docs/infra.md)."
  type        = bool
  default     = false
}

variable "github_actions_extra_policy_arns" {
  description = "Managed policies attached to the CI role in addition to its deploy permissions, e.g. the policy that lets the pipeline run terraform apply."
  type        = list(string)
  default     = []
}

variable "state_bucket" {
  description = "Name of the Terraform state bucket, so the CI role can read and lock this workspace's state. Null: no state access is granted."
  type        = string
  default     = null
}

variable "promote_source_repository_arns" {
  description = "ECR repositories (ARNs) the CI role may pull from when promoting an image into this environment, e.g. staging's repository for production: kmdeploy image copy copies the image by digest into this environment's repository, the only one its tasks may pull."
  type        = list(string)
  default     = []
}
