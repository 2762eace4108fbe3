# Provider-free fixture: terraform_data resources stand in for AWS resources so
# plans, applies, the guard and drift run offline.

variable "label" {
  type    = string
  default = "v1"
}

# Changing it replaces terraform_data.db (a stand-in for the RDS instance).
variable "db_generation" {
  type    = string
  default = "1"
}

variable "db_password" {
  type      = string
  sensitive = true
  default   = "initial-password"
}

# Secret by its name only (not marked sensitive here): kmdeploy must hide its values.
variable "api_token" {
  type    = string
  default = "default-token-value"
}

resource "terraform_data" "app" {
  input = var.label
}

resource "terraform_data" "token" {
  input = var.api_token
}

resource "terraform_data" "db" {
  triggers_replace = [var.db_generation]
  input            = var.db_password
}

output "cluster_name" {
  value = "km-${terraform.workspace}"
}

output "service_name" {
  value = "api-${terraform_data.app.output}"
}

output "container_port" {
  value = 8000
}

output "task_subnet_ids" {
  value = ["subnet-a", "subnet-b"]
}

output "db_password" {
  value     = terraform_data.db.output
  sensitive = true
}
