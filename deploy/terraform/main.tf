# The same resources `duo-secops deploy` creates with gcloud, with the same names and the same
# least-privilege roles: every grant is on the one bucket, the one secret or the function's own
# service, never on the project. One function, job, topic and bucket collect every stream of
# var.duo_logs; only the SecOps feeds are one per stream (streams.tf).
#
# Unlike the CLI, Terraform does not look for Google's guide collector (duo-telephony-logs-collector,
# job duo-telephony-logs-1h): pause or delete it yourself, or every log reaches SecOps twice.

locals {
  topic_name         = coalesce(var.topic_name, "${var.name}-trigger")
  job_name           = coalesce(var.job_name, var.name)
  source_bucket_name = coalesce(var.source_bucket_name, "${var.project_id}-${var.name}-src")
  secops_project     = coalesce(var.secops_project, var.project_id)

  apis = [
    "artifactregistry.googleapis.com",
    "cloudbuild.googleapis.com",
    "cloudfunctions.googleapis.com",
    "cloudscheduler.googleapis.com",
    "eventarc.googleapis.com",
    "iam.googleapis.com",
    "pubsub.googleapis.com",
    "run.googleapis.com",
    "secretmanager.googleapis.com",
    "storage.googleapis.com",
  ]

  # The guide's account by default: created here, or (create_service_account = false) the existing one.
  collector_email  = var.create_service_account ? google_service_account.collector[0].email : "${var.service_account_id}@${var.project_id}.iam.gserviceaccount.com"
  collector_member = "serviceAccount:${local.collector_email}"
}

resource "google_project_service" "apis" {
  for_each = var.enable_apis ? toset(local.apis) : toset([])

  project = var.project_id
  service = each.value
  # Other workloads may use these APIs: removing the collector must not switch them off.
  disable_on_destroy = false
}

resource "google_storage_bucket" "logs" {
  count = var.create_bucket ? 1 : 0

  project                     = var.project_id
  name                        = var.bucket_name
  location                    = coalesce(var.bucket_location, var.region)
  storage_class               = "STANDARD"
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  labels                      = var.labels

  versioning {
    enabled = var.bucket_versioning
  }

  depends_on = [google_project_service.apis]
}

resource "google_service_account" "collector" {
  count = var.create_service_account ? 1 : 0

  project      = var.project_id
  account_id   = var.service_account_id
  display_name = "duo-secops collector"
  description  = "Runs the ${var.name} function: writes gs://${var.bucket_name}, reads the secret ${var.secret_id}"

  depends_on = [google_project_service.apis]
}

# The collector creates objects, reads them back and replaces its checkpoint under a generation
# precondition; replacing needs storage.objects.delete, which objectCreator + objectViewer lack.
# objectUser is the smallest predefined role with all four, and cannot change object ACLs.
resource "google_storage_bucket_iam_member" "collector" {
  bucket = var.create_bucket ? google_storage_bucket.logs[0].name : var.bucket_name
  role   = "roles/storage.objectUser"
  member = local.collector_member
}

resource "google_secret_manager_secret" "skey" {
  project   = var.project_id
  secret_id = var.secret_id
  labels    = var.labels

  replication {
    auto {}
  }

  depends_on = [google_project_service.apis]
}

# Write-only: the key goes to Secret Manager and nowhere into the plan or the state.
resource "google_secret_manager_secret_version" "skey" {
  count = var.duo_skey_version == null ? 0 : 1

  secret                 = google_secret_manager_secret.skey.id
  secret_data_wo         = var.duo_skey
  secret_data_wo_version = var.duo_skey_version
}

resource "google_secret_manager_secret_iam_member" "collector" {
  project   = var.project_id
  secret_id = google_secret_manager_secret.skey.secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = local.collector_member
}

resource "google_pubsub_topic" "trigger" {
  project = var.project_id
  name    = local.topic_name
  labels  = var.labels

  depends_on = [google_project_service.apis]
}

resource "google_storage_bucket" "source" {
  project                     = var.project_id
  name                        = local.source_bucket_name
  location                    = var.region
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  labels                      = var.labels

  depends_on = [google_project_service.apis]
}

# Named after the archive's content: a new build uploads a new object, which redeploys the function.
resource "google_storage_bucket_object" "source" {
  bucket = google_storage_bucket.source.name
  name   = "${var.name}-${filemd5(var.source_archive)}.zip"
  source = var.source_archive
}

resource "google_cloudfunctions2_function" "collector" {
  project     = var.project_id
  location    = var.region
  name        = var.name
  description = "Collects Cisco Duo logs (${join(", ", local.selected_streams)}) into gs://${var.bucket_name} for SecOps feeds, one per log"
  labels      = var.labels

  build_config {
    runtime     = "nodejs22"
    entry_point = "main"

    source {
      storage_source {
        bucket = google_storage_bucket.source.name
        object = google_storage_bucket_object.source.name
      }
    }
  }

  service_config {
    available_memory = "512Mi"
    timeout_seconds  = 600
    # One run at a time: a concurrent run would only find the window taken. In accounts mode more
    # (accounts.tf): each work item is one (account, stream) with a checkpoint of its own.
    max_instance_count = local.max_instances
    # Pub/Sub and Eventarc of the same project count as internal traffic.
    ingress_settings               = "ALLOW_INTERNAL_ONLY"
    all_traffic_on_latest_revision = true
    service_account_email          = local.collector_email

    # DUO_LOGS and each selected stream's prefix (streams.tf). The key travels as a Secret Manager
    # version name, read by the collector at its first event; no STATE_KEY, so each stream's checkpoint
    # is _state/<prefix>.json and telephony migrates the guide's <prefix>/state.json.
    environment_variables = merge(local.stream_env, {
      GCS_BUCKET      = var.bucket_name
      DUO_IKEY        = var.duo_ikey
      DUO_API_HOST    = var.duo_api_host
      DUO_SKEY_SECRET = "${google_secret_manager_secret.skey.id}/versions/latest"
      # A run ends a minute before the function's 600 s timeout would kill it.
      RUN_BUDGET_SECONDS = "540"
    }, local.rpm_env, local.accounts_env)
  }

  event_trigger {
    trigger_region        = var.region
    event_type            = "google.cloud.pubsub.topic.v1.messagePublished"
    pubsub_topic          = google_pubsub_topic.trigger.id
    service_account_email = local.collector_email
    # A failed run is not redelivered: the next scheduled run resumes from the checkpoint.
    retry_policy = "RETRY_POLICY_DO_NOT_RETRY"
  }

  depends_on = [
    google_project_service.apis,
    google_storage_bucket_iam_member.collector,
    google_secret_manager_secret_iam_member.collector,
  ]
}

# The Eventarc trigger calls the function as the collector's account: invoker on this service only.
resource "google_cloud_run_service_iam_member" "invoker" {
  project  = var.project_id
  location = var.region
  service  = google_cloudfunctions2_function.collector.name
  role     = "roles/run.invoker"
  member   = local.collector_member
}

# Accounts mode (accounts.tf): the work topic, the collector's right to publish on it (on that topic
# only), and a second trigger of the function's service from it, as the collector's account, which holds
# run.invoker on that service already.
resource "google_pubsub_topic" "work" {
  count = local.accounts_mode ? 1 : 0

  project = var.project_id
  name    = local.work_topic_name
  labels  = var.labels

  depends_on = [google_project_service.apis]
}

resource "google_pubsub_topic_iam_member" "work_publisher" {
  count = local.accounts_mode ? 1 : 0

  project = var.project_id
  topic   = google_pubsub_topic.work[0].name
  role    = "roles/pubsub.publisher"
  member  = local.collector_member
}

resource "google_eventarc_trigger" "work" {
  count = local.accounts_mode ? 1 : 0

  project         = var.project_id
  location        = var.region
  name            = local.work_trigger_name
  service_account = local.collector_email
  labels          = var.labels

  matching_criteria {
    attribute = "type"
    value     = "google.cloud.pubsub.topic.v1.messagePublished"
  }

  destination {
    cloud_run_service {
      service = google_cloudfunctions2_function.collector.name
      region  = var.region
    }
  }

  transport {
    pubsub {
      topic = google_pubsub_topic.work[0].id
    }
  }

  depends_on = [google_cloud_run_service_iam_member.invoker]
}

resource "google_cloud_scheduler_job" "collect" {
  project   = var.project_id
  region    = var.region
  name      = local.job_name
  schedule  = var.schedule
  time_zone = var.time_zone

  pubsub_target {
    topic_name = google_pubsub_topic.trigger.id
    data       = base64encode("{}")
  }

  depends_on = [google_project_service.apis]
}

resource "google_storage_bucket_iam_member" "secops_reader" {
  count = var.secops_service_account == null ? 0 : 1

  bucket = var.create_bucket ? google_storage_bucket.logs[0].name : var.bucket_name
  role   = "roles/storage.objectViewer"
  member = "serviceAccount:${var.secops_service_account}"
}

# The SecOps feeds, optional: one per selected stream, each with its log type and its prefix (with
# account_feeds one per account and stream, accounts.tf). Written
# from the provider's published schema for google_chronicle_feed; fields marked UNCERTAIN could not be
# checked against a live instance here. SecOps has no default parser for DUO_TRUST_MONITOR: that feed
# ingests, but its logs stay raw until a custom parser exists.
resource "google_chronicle_feed" "duo" {
  provider = google-beta
  for_each = var.create_secops_feed ? local.secops_feeds : {}

  # UNCERTAIN: the project bound to the SecOps instance, which may differ from the collector's.
  project      = local.secops_project
  location     = var.secops_location
  instance     = var.secops_instance
  display_name = each.value.display_name
  enabled      = true

  details {
    feed_source_type = "GOOGLE_CLOUD_STORAGE_V2"
    # UNCERTAIN: the API takes the log type as a full resource name; the console shows each.value.label.
    log_type = "projects/${local.secops_project}/locations/${var.secops_location}/instances/${var.secops_instance}/logTypes/${each.value.log_type}"

    gcs_v2_settings {
      bucket_uri = each.value.feed_uri
      # UNCERTAIN: SourceDeletionOptionV2 names its values NEVER and ON_SUCCESS. Never: the feed only
      # reads, and a page rewritten after a deletion would be ingested twice.
      source_deletion_option = "NEVER"
      max_lookback_days      = 180
    }
  }

  lifecycle {
    precondition {
      condition     = var.secops_instance != null
      error_message = "create_secops_feed needs secops_instance (the SecOps customer ID)."
    }
  }
}

# The single telephony feed of earlier versions is the telephony entry now: no re-creation.
moved {
  from = google_chronicle_feed.duo_telephony[0]
  to   = google_chronicle_feed.duo["telephony"]
}
