terraform {
  # 1.10 is the first release whose S3 backend locks with a lock file (use_lockfile),
  # so no DynamoDB table is needed; 1.11 the first with write-only arguments, which keep
  # generated credentials out of the state (data.tf).
  required_version = ">= 1.11.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.90"
    }
  }

  # Partial configuration: bucket, key, region and use_lockfile are given at init time
  # (see docs/infra.md), so one configuration serves every account. Each workspace
  # (= environment) gets its own state object under env:/<workspace>/.
  backend "s3" {}
}
