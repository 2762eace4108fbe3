# The database, its credentials and the media bucket.

# ---- Credentials ---------------------------------------------------------------------
# Generated here and kept in Secrets Manager; tasks receive them through the task
# definition's `secrets` (resolved by ECS at start), never as plain environment or
# container overrides. They are also in the Terraform state, which is why the state
# bucket is encrypted and access-restricted (docs/infra.md).

resource "random_password" "db_admin" {
  length  = 40
  special = false # RDS forbids / @ " and space; letters and digits are plenty at 40.
}

resource "random_password" "db_app" {
  length  = 40
  special = false
}

resource "random_password" "admin" {
  length  = 32
  special = true
}

resource "random_password" "django_secret_key" {
  length  = 64
  special = true
}

locals {
  # Production secrets survive an accidental destroy for 30 days; a disposable
  # environment's must vanish at once so its name can be reused.
  secret_recovery_days = local.is_production ? 30 : 0

  # Where both database roles connect; each secret adds its own username and password.
  db_endpoint = {
    host   = aws_db_instance.main.address
    port   = aws_db_instance.main.port
    dbname = var.db_name
  }
}

resource "aws_secretsmanager_secret" "db_admin" {
  name                    = "${local.name}/db-admin"
  description             = "Know Me ${local.environment} database admin (master) credentials, for migrations only"
  recovery_window_in_days = local.secret_recovery_days
}

resource "aws_secretsmanager_secret_version" "db_admin" {
  secret_id = aws_secretsmanager_secret.db_admin.id
  secret_string = jsonencode(merge(local.db_endpoint, {
    username = var.db_admin_username
    password = random_password.db_admin.result
  }))
}

resource "aws_secretsmanager_secret" "db_app" {
  name                    = "${local.name}/db-app"
  description             = "Know Me ${local.environment} database credentials of the API server's role"
  recovery_window_in_days = local.secret_recovery_days
}

resource "aws_secretsmanager_secret_version" "db_app" {
  secret_id = aws_secretsmanager_secret.db_app.id
  secret_string = jsonencode(merge(local.db_endpoint, {
    username = var.db_app_username
    password = random_password.db_app.result
  }))
}

resource "aws_secretsmanager_secret" "app" {
  name                    = "${local.name}/app"
  description             = "Know Me ${local.environment} API secrets: Django secret key, admin user password"
  recovery_window_in_days = local.secret_recovery_days
}

resource "aws_secretsmanager_secret_version" "app" {
  secret_id = aws_secretsmanager_secret.app.id
  secret_string = jsonencode({
    django_secret_key = random_password.django_secret_key.result
    admin_password    = random_password.admin.result
  })
}

resource "aws_secretsmanager_secret" "api_extra" {
  name                    = "${local.name}/api-extra"
  description             = "Know Me ${local.environment} extra API secrets (variable api_secrets)"
  recovery_window_in_days = local.secret_recovery_days
}

resource "aws_secretsmanager_secret_version" "api_extra" {
  secret_id     = aws_secretsmanager_secret.api_extra.id
  secret_string = jsonencode(var.api_secrets)
}

# ---- Database ------------------------------------------------------------------------

resource "aws_db_subnet_group" "main" {
  name       = local.name
  subnet_ids = local.private_subnet_ids
}

resource "aws_db_parameter_group" "main" {
  name_prefix = "${local.name}-pg"
  family      = "postgres${split(".", var.db_engine_version)[0]}"

  # Refuse unencrypted connections.
  parameter {
    name  = "rds.force_ssl"
    value = "1"
  }

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_db_instance" "main" {
  identifier     = local.name
  engine         = "postgres"
  engine_version = var.db_engine_version
  instance_class = var.db_instance_class

  allocated_storage     = var.db_allocated_storage
  max_allocated_storage = var.db_max_allocated_storage
  storage_type          = "gp3"
  storage_encrypted     = true

  db_name  = var.db_name
  username = var.db_admin_username
  password = random_password.db_admin.result

  db_subnet_group_name   = aws_db_subnet_group.main.name
  vpc_security_group_ids = [aws_security_group.db.id]
  parameter_group_name   = aws_db_parameter_group.main.name
  publicly_accessible    = false
  multi_az               = coalesce(var.db_multi_az, local.is_production)

  backup_retention_period    = var.db_backup_retention_days
  backup_window              = "03:00-04:00"
  maintenance_window         = "sun:04:30-sun:05:30"
  copy_tags_to_snapshot      = true
  auto_minor_version_upgrade = true
  # Outside production, changes apply now rather than in the next maintenance window.
  apply_immediately = !local.is_production

  deletion_protection       = local.is_production
  skip_final_snapshot       = !local.is_production
  final_snapshot_identifier = local.is_production ? "${local.name}-final" : null
  delete_automated_backups  = !local.is_production
}

# ---- Media ---------------------------------------------------------------------------

resource "aws_s3_bucket" "media" {
  bucket        = "${local.name}-media-${local.account_id}"
  force_destroy = !local.is_production
}

resource "aws_s3_bucket_lifecycle_configuration" "media" {
  bucket = aws_s3_bucket.media.id

  rule {
    id     = "expire-old-versions"
    status = "Enabled"
    filter {}
    noncurrent_version_expiration {
      noncurrent_days = 90
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }

  depends_on = [aws_s3_bucket_versioning.private]
}

resource "aws_s3_bucket_policy" "media" {
  bucket     = aws_s3_bucket.media.id
  policy     = data.aws_iam_policy_document.deny_insecure_transport["media"].json
  depends_on = [aws_s3_bucket_public_access_block.private]
}
