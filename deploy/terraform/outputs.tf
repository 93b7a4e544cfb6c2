output "bucket_name" {
  description = "Bucket the logs are written to."
  value       = var.bucket_name
}

output "feed_uri" {
  description = "Storage bucket URL for the SecOps feed (source type Google Cloud Storage V2, log type Duo Telephony)."
  value       = local.feed_uri
}

output "state_object" {
  description = "The collector's checkpoint, outside the feed's URI on purpose."
  value       = "gs://${var.bucket_name}/${local.state_key}"
}

output "service_account_email" {
  description = "The collector's service account."
  value       = local.collector_email
}

output "function_name" {
  description = "The Cloud Run function."
  value       = google_cloudfunctions2_function.collector.name
}

output "topic_id" {
  description = "Pub/Sub topic that triggers the function."
  value       = google_pubsub_topic.trigger.id
}

output "scheduler_job" {
  description = "Cloud Scheduler job; `gcloud scheduler jobs run <name> --location=<region>` triggers a run now."
  value       = google_cloud_scheduler_job.collect.name
}

output "secret_version" {
  description = "DUO_SKEY_SECRET as the function reads it."
  value       = "${google_secret_manager_secret.skey.id}/versions/latest"
}

output "secops_feed_settings" {
  description = "What to enter in SecOps (SIEM Settings > Feeds > Add New Feed) when the feed is not created here."
  value = {
    source_type            = "Google Cloud Storage V2"
    log_type               = "Duo Telephony (DUO_TELEPHONY)"
    storage_bucket_url     = local.feed_uri
    source_deletion_option = "Never"
    maximum_file_age_days  = 180
  }
}
