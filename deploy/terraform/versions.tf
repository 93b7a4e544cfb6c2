terraform {
  # 1.11: write-only arguments, so the Duo secret key never lands in the state (secret_data_wo).
  required_version = ">= 1.11"

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = ">= 7.0, < 8.0"
    }
    # Only for the optional SecOps feed: google_chronicle_feed exists in google-beta alone. The lowest
    # version known here to carry its gcs_v2_settings block is 7.31.
    google-beta = {
      source  = "hashicorp/google-beta"
      version = ">= 7.31, < 8.0"
    }
  }
}
