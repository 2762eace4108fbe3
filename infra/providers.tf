provider "aws" {
  region = var.aws_region

  default_tags {
    tags = local.tags
  }
}

# CloudFront only accepts ACM certificates from us-east-1.
provider "aws" {
  alias  = "us_east_1"
  region = "us-east-1"

  default_tags {
    tags = local.tags
  }
}

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  # The workspace name is the environment: staging, production, or a disposable one.
  environment   = terraform.workspace
  is_production = local.environment == "production"

  # Prefix of every resource name; short enough for the 32-character limit of ALB and
  # target group names.
  name = "${var.name_prefix}-${local.environment}"

  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name

  tags = merge(var.tags, {
    Project     = var.name_prefix
    Environment = local.environment
    ManagedBy   = "terraform"
  })
}

# Refuses to plan in the default workspace or with a name that would break resource
# naming limits, before any resource is touched.
resource "terraform_data" "workspace_guard" {
  input = local.environment

  lifecycle {
    precondition {
      condition     = local.environment != "default" && can(regex("^[a-z]([a-z0-9]|-[a-z0-9]){1,19}$", local.environment)) && length(local.environment) <= 20
      error_message = "Select the environment's workspace first (terraform workspace select -or-create staging): the workspace name is the environment and must be 2-20 characters of a-z, 0-9 and single '-', starting with a letter and not ending with '-'."
    }
  }
}
