# What `duo-secops deploy --verify-daily` and `--alert-channel` add, with the same names and content
# (src/deploy/monitoring.ts; the content is in alerts.tf): a second job asking the function to verify
# yesterday, log-based metrics on the function's JSON log lines, and alert policies on them notifying
# var.alert_channel. Without verify_daily and alert_channel none of these exists.

resource "google_project_service" "monitoring" {
  for_each = var.enable_apis && local.alerting ? toset(local.monitoring_apis) : toset([])

  project            = var.project_id
  service            = each.value
  disable_on_destroy = false
}

# The same topic as the collection job, once a day in UTC: the function verifies yesterday's UTC day
# for every stream and logs one verify.finished line per stream.
resource "google_cloud_scheduler_job" "verify" {
  count = var.verify_daily ? 1 : 0

  project   = var.project_id
  region    = var.region
  name      = "${local.job_name}-verify"
  schedule  = "30 3 * * *"
  time_zone = "Etc/UTC"

  pubsub_target {
    topic_name = google_pubsub_topic.trigger.id
    data       = base64encode(local.verify_message)
  }

  depends_on = [google_project_service.apis]
}

resource "google_logging_metric" "counter" {
  for_each = local.alerting ? local.counter_metrics : {}

  project     = var.project_id
  name        = each.key
  description = each.value.description
  filter      = each.value.filter

  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
    unit        = "1"

    dynamic "labels" {
      for_each = each.value.by_stream ? [local.stream_label] : []
      content {
        key         = labels.value.key
        value_type  = labels.value.value_type
        description = labels.value.description
      }
    }
  }

  label_extractors = each.value.by_stream ? { stream = "EXTRACT(jsonPayload.stream)" } : {}

  depends_on = [google_project_service.monitoring]
}

resource "google_logging_metric" "lag" {
  count = local.alerting ? 1 : 0

  project         = var.project_id
  name            = "duo_secops_lag_ms"
  description     = local.lag_metric.description
  filter          = local.lag_metric.filter
  value_extractor = "EXTRACT(jsonPayload.lagMs)"

  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "DISTRIBUTION"
    unit        = "ms"

    labels {
      key         = local.stream_label.key
      value_type  = local.stream_label.value_type
      description = local.stream_label.description
    }
  }

  label_extractors = { stream = "EXTRACT(jsonPayload.stream)" }

  # From one minute up, each bucket 15 % wider: a percentile is within 15 % of the real lag.
  bucket_options {
    exponential_buckets {
      num_finite_buckets = 100
      growth_factor      = 1.15
      scale              = 60000
    }
  }

  depends_on = [google_project_service.monitoring]
}

resource "google_monitoring_alert_policy" "duo" {
  for_each = local.alerting ? local.alert_policies : {}

  project               = var.project_id
  display_name          = each.value.display_name
  combiner              = "OR"
  enabled               = true
  notification_channels = [var.alert_channel]
  user_labels           = { duo-secops-alert = each.key }

  documentation {
    content   = each.value.doc
    mime_type = "text/markdown"
  }

  conditions {
    display_name = each.value.condition

    condition_threshold {
      filter          = each.value.filter
      comparison      = "COMPARISON_GT"
      threshold_value = each.value.threshold
      duration        = "0s"

      aggregations {
        alignment_period     = each.value.period
        per_series_aligner   = each.value.aligner
        cross_series_reducer = each.value.reducer
        group_by_fields      = each.value.group_by
      }

      trigger {
        count = 1
      }
    }
  }

  alert_strategy {
    auto_close = "604800s"
  }

  depends_on = [google_logging_metric.counter, google_logging_metric.lag]
}
