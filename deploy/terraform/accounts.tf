# Accounts mode, as `duo-secops deploy --accounts` makes it: a Duo parent (MSP) integration reads its
# child accounts. The scheduled run lists the children and publishes one message per (account, stream)
# on the work topic; an Eventarc trigger on it calls the function once per message. Only locals here, no
# resource, so the module's test evaluates them offline; the resources are in main.tf.

locals {
  accounts_mode   = var.duo_accounts != ""
  work_topic_name = coalesce(var.work_topic_name, "${var.name}-work")
  # The trigger from the work topic, named after the function.
  work_trigger_name = "${var.name}-work"

  account_ids        = lower(var.duo_accounts) == "all" ? [] : [for a in split(",", var.duo_accounts) : trimspace(a) if trimspace(a) != ""]
  accounts_exclusion = [for a in split(",", var.duo_accounts_exclude) : trimspace(a) if trimspace(a) != ""]

  # More than one instance only in accounts mode: each work item is one (account, stream), whose own
  # checkpoint's compare-and-swap keeps parallel runs apart, and the scheduled dispatch is quick.
  max_instances = local.accounts_mode ? var.max_instances : 1

  # The function's accounts variables, as deploy sets them; FAN_OUT_INSTANCES tells it the instance count.
  accounts_env = local.accounts_mode ? merge(
    {
      DUO_ACCOUNTS      = lower(var.duo_accounts) == "all" ? "all" : join(",", local.account_ids)
      WORK_TOPIC        = "projects/${var.project_id}/topics/${local.work_topic_name}"
      FAN_OUT_INSTANCES = tostring(var.max_instances)
    },
    length(local.accounts_exclusion) > 0 ? { DUO_ACCOUNTS_EXCLUDE = join(",", local.accounts_exclusion) } : {},
    length(var.account_feeds) > 0 ? { ACCOUNT_FEEDS = join(",", var.account_feeds) } : {},
    var.rate_per_child ? { ACCOUNTS_SHARE_RATE = "false" } : {},
  ) : {}

  rpm_env = var.requests_per_minute == "" ? {} : { REQUESTS_PER_MINUTE = var.requests_per_minute }

  # The SecOps feeds: one per stream (every child's objects lie below its prefix, each line naming its
  # account), or with account_feeds one per (account, stream) below <prefix>/<account_id>/. Keyed by
  # stream, or by "<stream>/<account>".
  secops_feeds = length(var.account_feeds) == 0 ? {
    for s, st in local.streams : s => merge(st, {
      account_id   = null
      display_name = s == "telephony" ? var.secops_feed_display_name : "${st.label} logs"
    })
    } : {
    for pair in setproduct(var.account_feeds, local.selected_streams) : "${pair[1]}/${pair[0]}" => merge(local.streams[pair[1]], {
      account_id   = pair[0]
      display_name = "${local.streams[pair[1]].label} logs ${pair[0]}"
      feed_uri     = "${local.streams[pair[1]].feed_uri}${pair[0]}/"
    })
  }
}
