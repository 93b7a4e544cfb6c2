# The Duo log streams. One function, job, topic and bucket collect every stream in var.duo_logs; each
# stream writes below a prefix of its own and is read by a SecOps feed of its own. This file uses
# variables and locals only (no resource, no provider), so the test suite evaluates it offline, with
# accounts.tf.

locals {
  # In the collector's order (DUO_LOGS is written in it).
  stream_names = ["telephony", "authentication", "activity", "trust_monitor", "administrator"]

  # One row per stream, as the collector names them: the SecOps log type and how the feed form shows
  # it, whether SecOps ships a parser for it, the function's variable for its prefix, and its default.
  stream_table = {
    telephony = {
      log_type       = "DUO_TELEPHONY"
      label          = "Duo Telephony"
      secops_parser  = true
      prefix_env     = "GCS_PREFIX"
      default_prefix = "duo-telephony"
    }
    authentication = {
      log_type       = "DUO_AUTH"
      label          = "Duo Auth"
      secops_parser  = true
      prefix_env     = "GCS_PREFIX_AUTHENTICATION"
      default_prefix = "duo-authentication"
    }
    activity = {
      log_type       = "DUO_ACTIVITY"
      label          = "Duo Activity"
      secops_parser  = true
      prefix_env     = "GCS_PREFIX_ACTIVITY"
      default_prefix = "duo-activity"
    }
    # SecOps has no default parser for DUO_TRUST_MONITOR: its logs stay raw until a custom parser exists.
    trust_monitor = {
      log_type       = "DUO_TRUST_MONITOR"
      label          = "Duo Trust Monitor"
      secops_parser  = false
      prefix_env     = "GCS_PREFIX_TRUST_MONITOR"
      default_prefix = "duo-trust-monitor"
    }
    # Duo is retiring the administrator log in favour of the activity log.
    administrator = {
      log_type       = "DUO_ADMIN"
      label          = "Duo Admin"
      secops_parser  = true
      prefix_env     = "GCS_PREFIX_ADMINISTRATOR"
      default_prefix = "duo-administrator"
    }
  }

  selected_streams = [for s in local.stream_names : s if contains(var.duo_logs, s)]

  # Each selected stream: where it writes, the URI its feed reads, and its checkpoint, kept outside
  # every feed's URI (a feed ingests every object below its URI).
  streams = {
    for s in local.selected_streams : s => merge(local.stream_table[s], {
      prefix    = s == "telephony" ? var.prefix : lookup(var.stream_prefixes, s, local.stream_table[s].default_prefix)
      feed_uri  = "gs://${var.bucket_name}/${s == "telephony" ? var.prefix : lookup(var.stream_prefixes, s, local.stream_table[s].default_prefix)}/"
      state_key = "_state/${replace(s == "telephony" ? var.prefix : lookup(var.stream_prefixes, s, local.stream_table[s].default_prefix), "/", "_")}.json"
    })
  }

  # The function's stream variables, as `duo-secops deploy` sets them: DUO_LOGS and the prefix of every
  # selected stream, defaults included.
  stream_env = merge(
    { for s, st in local.streams : st.prefix_env => st.prefix },
    { DUO_LOGS = join(",", local.selected_streams) },
  )

  # What to enter in SecOps (SIEM Settings > Feeds > Add New Feed), one feed per stream, or per
  # (account, stream) with account_feeds (accounts.tf): those name the account and use its id as the
  # asset namespace, as deploy prints them.
  feed_settings = {
    for k, f in local.secops_feeds : k => merge({
      source_type            = "Google Cloud Storage V2"
      log_type               = "${f.label} (${f.log_type})"
      storage_bucket_url     = f.feed_uri
      source_deletion_option = "Never"
      maximum_file_age_days  = 180
      parser                 = f.secops_parser ? "SecOps default parser" : "none by default: SecOps has no default parser for ${f.log_type}; add a custom parser"
      }, f.account_id == null ? {} : {
      feed_name       = f.display_name
      asset_namespace = f.account_id
    })
  }
}
