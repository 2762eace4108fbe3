# What every bucket of the environment gets, whatever it holds: no public access of any
# kind, objects owned by the bucket owner (ACLs disabled), encryption at rest,
# versioning, and TLS-only access. The buckets themselves, their lifecycles and any
# grants (CloudFront's read of the web bucket) stay with what uses them: data.tf, web.tf.

locals {
  private_buckets = {
    media = aws_s3_bucket.media
    web   = aws_s3_bucket.web
  }
}

resource "aws_s3_bucket_public_access_block" "private" {
  for_each = local.private_buckets

  bucket                  = each.value.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "private" {
  for_each = local.private_buckets

  bucket = each.value.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "private" {
  for_each = local.private_buckets

  bucket = each.value.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_versioning" "private" {
  for_each = local.private_buckets

  bucket = each.value.id
  versioning_configuration {
    status = "Enabled"
  }
}

# Part of every bucket policy (see aws_s3_bucket_policy in data.tf and web.tf).
data "aws_iam_policy_document" "deny_insecure_transport" {
  for_each = local.private_buckets

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [each.value.arn, "${each.value.arn}/*"]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

# The settings above were per-bucket resources in data.tf and web.tf; these keep the
# existing environments' objects (nothing is replaced). Remove them once every
# environment has applied this configuration.
moved {
  from = aws_s3_bucket_public_access_block.media
  to   = aws_s3_bucket_public_access_block.private["media"]
}
moved {
  from = aws_s3_bucket_public_access_block.web
  to   = aws_s3_bucket_public_access_block.private["web"]
}
moved {
  from = aws_s3_bucket_ownership_controls.media
  to   = aws_s3_bucket_ownership_controls.private["media"]
}
moved {
  from = aws_s3_bucket_ownership_controls.web
  to   = aws_s3_bucket_ownership_controls.private["web"]
}
moved {
  from = aws_s3_bucket_server_side_encryption_configuration.media
  to   = aws_s3_bucket_server_side_encryption_configuration.private["media"]
}
moved {
  from = aws_s3_bucket_server_side_encryption_configuration.web
  to   = aws_s3_bucket_server_side_encryption_configuration.private["web"]
}
moved {
  from = aws_s3_bucket_versioning.media
  to   = aws_s3_bucket_versioning.private["media"]
}
moved {
  from = aws_s3_bucket_versioning.web
  to   = aws_s3_bucket_versioning.private["web"]
}
