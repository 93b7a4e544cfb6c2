# The content of what `duo-secops deploy --verify-daily` and `--alert-channel` add, the same as
# src/deploy/monitoring.ts: the verify message, the log-based metrics' filters and the alert policies.
# Only locals, no resource, so the module's test evaluates them offline with `terraform console`;
# the resources are in monitoring.tf.

locals {
  alerting = var.alert_channel != ""
  # Policies need the Logging and Monitoring APIs; enabled only when alerts are asked for.
  monitoring_apis = ["logging.googleapis.com", "monitoring.googleapis.com"]

  # The function logs as its Cloud Run service.
  function_log_filter = "resource.type=\"cloud_run_revision\" AND resource.labels.service_name=\"${var.name}\""

  # Written out, not jsonencode(), which would sort the keys: byte for byte what deploy sends.
  verify_message = "{\"verify\":\"yesterday\",\"repair\":${var.verify_repair}}"

  stream_label = {
    key         = "stream"
    value_type  = "STRING"
    description = "the Duo log stream"
  }

  # Counter metrics, by name: the filter, and whether the stream label is extracted.
  counter_metrics = {
    duo_secops_run_failed = {
      description = "duo-secops ${var.name}: failed runs, streams and work messages (function.failed, stream.failed, work.refused)"
      filter      = "${local.function_log_filter} AND (jsonPayload.event=\"function.failed\" OR jsonPayload.event=\"stream.failed\" OR jsonPayload.event=\"work.refused\")"
      by_stream   = false
    }
    duo_secops_verify_gaps = {
      description = "duo-secops ${var.name}: days verify found missing, doubled or unknown events in, by stream (verify.finished, clean=false)"
      filter      = "${local.function_log_filter} AND jsonPayload.event=\"verify.finished\" AND jsonPayload.clean=false"
      by_stream   = true
    }
  }

  lag_metric = {
    description = "duo-secops ${var.name}: how far each stream's checkpoint is behind at the end of a run, in ms (run.finished lagMs)"
    filter      = "${local.function_log_filter} AND jsonPayload.event=\"run.finished\""
  }

  metric_filter  = { for n in ["duo_secops_run_failed", "duo_secops_verify_gaps", "duo_secops_lag_ms"] : n => "resource.type=\"cloud_run_revision\" AND metric.type=\"logging.googleapis.com/user/${n}\"" }
  functions_logs = "gcloud functions logs read ${var.name} --gen2"

  # The three policies: display name, documentation, and the one threshold condition of each.
  alert_policies = {
    run-failed = {
      display_name = "duo-secops ${var.name}: a run failed"
      doc          = "A run, a stream or a work message of the duo-secops function ${var.name} failed (a `function.failed`, `stream.failed` or `work.refused` log line; in accounts mode it names the child account): its `error_code` and message say why. The next scheduled run resumes from the checkpoint. Logs: `${local.functions_logs}`."
      condition    = "failed runs in 10 minutes > 0"
      filter       = local.metric_filter["duo_secops_run_failed"]
      threshold    = 0
      period       = "600s"
      aligner      = "ALIGN_SUM"
      reducer      = "REDUCE_SUM"
      group_by     = []
    }
    verify-gaps = {
      display_name = "duo-secops ${var.name}: verify found gaps"
      doc          = "The daily verify of ${var.name} found yesterday's stored logs differ from Duo's for a stream (a `verify.finished` line with `clean=false`: its `missing`, `doubled` and `unknown` counts). Run `duo-secops verify` for that day, with `--repair` to fill the gaps."
      condition    = "verify found gaps"
      filter       = local.metric_filter["duo_secops_verify_gaps"]
      threshold    = 0
      period       = "600s"
      aligner      = "ALIGN_SUM"
      reducer      = "REDUCE_SUM"
      group_by     = ["metric.label.stream"]
    }
    lag = {
      display_name = "duo-secops ${var.name}: collection lags behind"
      doc          = "A stream's checkpoint of ${var.name} is more than ${var.lag_alert_minutes} minutes behind (`run.finished` `lagMs`): runs fall behind or Duo answers slowly. Logs: `${local.functions_logs}`."
      condition    = "lag above ${var.lag_alert_minutes} minutes"
      filter       = local.metric_filter["duo_secops_lag_ms"]
      threshold    = var.lag_alert_minutes * 60000
      period       = "1800s"
      aligner      = "ALIGN_PERCENTILE_99"
      reducer      = "REDUCE_MAX"
      group_by     = ["metric.label.stream"]
    }
  }
}
