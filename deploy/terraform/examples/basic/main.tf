# Minimal use of the module. Stage the function source first (from the package folder or with npx):
#
#   duo-secops deploy --stage-only --stage-dir ./function-source
#
# then: terraform init && terraform apply -var duo_skey="$DUO_SKEY" -var duo_skey_version=1

terraform {
  required_version = ">= 1.11"

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = ">= 7.0, < 8.0"
    }
    google-beta = {
      source  = "hashicorp/google-beta"
      version = ">= 7.31, < 8.0"
    }
    archive = {
      source  = "hashicorp/archive"
      version = ">= 2.4, < 3.0"
    }
  }
}

variable "project_id" {
  type = string
}

variable "duo_ikey" {
  type = string
}

variable "duo_api_host" {
  type = string
}

variable "duo_skey" {
  type      = string
  default   = null
  sensitive = true
  ephemeral = true
}

variable "duo_skey_version" {
  type    = number
  default = null
}

variable "secops_service_account" {
  type    = string
  default = null
}

provider "google" {
  project = var.project_id
  region  = "us-central1"
}

provider "google-beta" {
  project = var.project_id
  region  = "us-central1"
}

# Cloud Functions takes a zip: the staged folder, zipped at plan time.
data "archive_file" "function_source" {
  type        = "zip"
  source_dir  = "${path.module}/function-source"
  output_path = "${path.module}/function-source.zip"
}

module "duo_secops" {
  source = "../.."

  project_id  = var.project_id
  region      = "us-central1"
  bucket_name = "${var.project_id}-duo-secops"
  prefix      = "duo-telephony"
  # One function collects every listed log; each gets a feed of its own (see the secops_feeds output).
  duo_logs               = ["telephony", "authentication", "activity"]
  duo_ikey               = var.duo_ikey
  duo_api_host           = var.duo_api_host
  duo_skey               = var.duo_skey
  duo_skey_version       = var.duo_skey_version
  source_archive         = data.archive_file.function_source.output_path
  secops_service_account = var.secops_service_account
}

output "feed_uris" {
  value = module.duo_secops.feed_uris
}

output "secops_feeds" {
  value = module.duo_secops.secops_feeds
}
