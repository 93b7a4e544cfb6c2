output "bucket_name" {
  description = "Bucket the logs are written to."
  value       = var.bucket_name
}

output "duo_logs" {
  description = "The streams collected (DUO_LOGS), in the collector's order."
  value       = local.selected_streams
}

output "feed_uris" {
  description = "Storage bucket URL of each SecOps feed (source type Google Cloud Storage V2), by stream (with account_feeds by \"<stream>/<account>\")."
  value       = { for k, f in local.secops_feeds : k => f.feed_uri }
}

output "state_objects" {
  description = "Each stream's checkpoint, outside every feed's URI on purpose, by stream."
  value       = { for s, st in local.streams : s => "gs://${var.bucket_name}/${st.state_key}" }
}

output "feed_uri" {
  description = "The telephony feed's storage bucket URL (null when telephony is not collected); see feed_uris for every stream."
  value       = try(local.streams["telephony"].feed_uri, null)
}

output "state_object" {
  description = "The telephony log's checkpoint (null when telephony is not collected); see state_objects for every stream."
  value       = try("gs://${var.bucket_name}/${local.streams["telephony"].state_key}", null)
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

output "secops_feeds" {
  description = "What to enter in SecOps (SIEM Settings > Feeds > Add New Feed) for each stream's feed when it is not created here, by stream."
  value       = local.feed_settings
}

output "secops_feed_settings" {
  description = "The telephony feed's settings (null when telephony is not collected); see secops_feeds for every stream."
  value       = try(local.feed_settings["telephony"], null)
}

output "verify_job" {
  description = "The daily verify job (verify_daily), or null."
  value       = try(google_cloud_scheduler_job.verify[0].name, null)
}

output "alert_policies" {
  description = "The alert policies (alert_channel), by kind: run-failed, verify-gaps, lag."
  value       = { for k, p in google_monitoring_alert_policy.duo : k => p.name }
}

output "work_topic_id" {
  description = "Accounts mode: the topic the work is published on (WORK_TOPIC), or null."
  value       = try(google_pubsub_topic.work[0].id, null)
}

output "work_trigger" {
  description = "Accounts mode: the Eventarc trigger from the work topic to the function, or null."
  value       = try(google_eventarc_trigger.work[0].name, null)
}
