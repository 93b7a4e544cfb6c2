variable "project_id" {
  description = "Project that holds the collector: bucket, function, secret, topic and schedule."
  type        = string
}

variable "region" {
  description = "Region of the function, the scheduler job and (unless bucket_location says otherwise) the bucket."
  type        = string
}

variable "bucket_name" {
  description = "Bucket the logs are written to (the SecOps feed reads it)."
  type        = string
}

variable "create_bucket" {
  description = "Create the bucket. Set to false to use an existing one (for example the one Google's guide made): only roles are added to it."
  type        = bool
  default     = true
}

variable "bucket_location" {
  description = "Location of a created bucket; defaults to var.region."
  type        = string
  default     = null
}

variable "bucket_versioning" {
  description = "Keep noncurrent object versions in a created bucket."
  type        = bool
  default     = false
}

variable "prefix" {
  description = "Object prefix of the telephony log: the collector writes under it and its feed reads it (GCS_PREFIX). The checkpoint lives outside it, at _state/<prefix>.json."
  type        = string
  default     = "duo-telephony"

  validation {
    condition     = length(var.prefix) > 0 && !startswith(var.prefix, "/") && !endswith(var.prefix, "/") && var.prefix != "_state" && !startswith(var.prefix, "_state/") && !strcontains(var.prefix, ",")
    error_message = "prefix must be non-empty, without a leading or trailing slash or a comma, and not under _state (where the checkpoint lives)."
  }
}

variable "duo_logs" {
  description = "The Duo log streams to collect (DUO_LOGS), one SecOps feed each: telephony, authentication, activity, trust_monitor, administrator. Duo is retiring administrator in favour of activity; SecOps has no default parser for trust_monitor."
  type        = list(string)
  default     = ["telephony"]

  validation {
    condition     = length(var.duo_logs) > 0 && alltrue([for s in var.duo_logs : contains(["telephony", "authentication", "activity", "trust_monitor", "administrator"], s)])
    error_message = "duo_logs must name at least one of telephony, authentication, activity, trust_monitor, administrator, and nothing else."
  }
}

variable "stream_prefixes" {
  description = "Object prefixes of the streams other than telephony (GCS_PREFIX_<STREAM>), by stream name; each defaults to duo-<stream> (duo-trust-monitor). Telephony's is var.prefix."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for s in keys(var.stream_prefixes) : contains(["authentication", "activity", "trust_monitor", "administrator"], s)])
    error_message = "stream_prefixes takes authentication, activity, trust_monitor and administrator; telephony's prefix is var.prefix."
  }

  validation {
    condition     = alltrue([for p in values(var.stream_prefixes) : length(p) > 0 && !startswith(p, "/") && !endswith(p, "/") && p != "_state" && !startswith(p, "_state/") && !strcontains(p, ",")])
    error_message = "Each of stream_prefixes must be non-empty, without a leading or trailing slash or a comma, and not under _state (where the checkpoints live)."
  }

  # Two selected streams may not share a folder (one feed would ingest the other's logs), nest, or have
  # one checkpoint (_state/<prefix with / as _>.json).
  validation {
    condition = alltrue(flatten([
      for prefixes in [{ for s in var.duo_logs : s => s == "telephony" ? var.prefix : lookup(var.stream_prefixes, s, "duo-${replace(s, "_", "-")}") }] : [
        for a, pa in prefixes : [
          for b, pb in prefixes : a == b || (!startswith("${pa}/", "${pb}/") && replace(pa, "/", "_") != replace(pb, "/", "_"))
        ]
      ]
    ]))
    error_message = "Each selected stream needs a prefix of its own: no two of prefix and stream_prefixes may be equal, lie one inside the other, or differ only in / against _ (they would share a checkpoint)."
  }
}

variable "name" {
  description = "Function name; the topic and job names derive from it."
  type        = string
  default     = "duo-secops-collector"
}

variable "service_account_id" {
  description = "The collector's service account ID. The default is the account Google's guide creates, whatever var.name is, so that a guide deployment's identity and bucket grant carry on."
  type        = string
  default     = "duo-telephony-collector-sa"
}

variable "create_service_account" {
  description = "Create the service account. Set to false when it exists already (made by Google's guide, or by `duo-secops deploy`): it is then used, not managed."
  type        = bool
  default     = true
}

variable "secret_id" {
  description = "Secret Manager secret holding the Duo Admin API secret key."
  type        = string
  default     = "duo-secops-skey"
}

variable "topic_name" {
  description = "Pub/Sub topic Cloud Scheduler publishes to; defaults to \"<name>-trigger\"."
  type        = string
  default     = null
}

variable "job_name" {
  description = "Cloud Scheduler job name; defaults to var.name."
  type        = string
  default     = null
}

variable "schedule" {
  description = "Unix cron schedule of the collection runs."
  type        = string
  default     = "*/15 * * * *"
}

variable "time_zone" {
  description = "Time zone of the schedule."
  type        = string
  default     = "Etc/UTC"
}

variable "duo_ikey" {
  description = "Duo Admin API integration key (DUO_IKEY)."
  type        = string
}

variable "duo_api_host" {
  description = "Duo API hostname, api-xxxxxxxx.duosecurity.com (DUO_API_HOST)."
  type        = string
}

variable "duo_skey" {
  description = "Duo Admin API secret key. Write-only: sent to Secret Manager, never stored in the plan or the state. Leave null to add the version yourself (see README)."
  type        = string
  default     = null
  sensitive   = true
  ephemeral   = true
}

variable "duo_skey_version" {
  description = "Set (1, 2, ...) together with duo_skey to write the key as a secret version; raise it to store a new key. Null: no version is managed here."
  type        = number
  default     = null
}

variable "source_archive" {
  description = "Path to the function source zip: the folder `duo-secops deploy --stage-only --stage-dir <dir>` stages, zipped (see README)."
  type        = string
}

variable "source_bucket_name" {
  description = "Bucket created for the function source archive; defaults to \"<project_id>-<name>-src\"."
  type        = string
  default     = null
}

variable "secops_service_account" {
  description = "The SecOps feed's service account (\"Get Service Account\" in the feed form); it gets Storage Object Viewer on the bucket. Null: no grant."
  type        = string
  default     = null
}

variable "create_secops_feed" {
  description = "Also create the SecOps feed (google-beta google_chronicle_feed). Needs secops_instance."
  type        = bool
  default     = false
}

variable "secops_project" {
  description = "Project bound to the SecOps instance; defaults to var.project_id."
  type        = string
  default     = null
}

variable "secops_location" {
  description = "Location of the SecOps instance, for example us or europe."
  type        = string
  default     = "us"
}

variable "secops_instance" {
  description = "SecOps instance (customer) ID, a GUID."
  type        = string
  default     = null
}

variable "secops_feed_display_name" {
  description = "Display name of the created telephony feed; the other feeds are named \"<log type> logs\" (\"Duo Auth logs\")."
  type        = string
  default     = "Duo Telephony logs"
}

variable "enable_apis" {
  description = "Enable the APIs the collector needs (never disabled on destroy)."
  type        = bool
  default     = true
}

variable "labels" {
  description = "Labels on the bucket, the secret, the topic and the function."
  type        = map(string)
  default     = {}
}

variable "verify_daily" {
  description = "Also schedule <job>-verify (30 3 * * *, UTC) on the same topic: the function verifies yesterday's stored logs against Duo and logs one verify.finished line per stream (deploy --verify-daily)."
  type        = bool
  default     = false
}

variable "verify_repair" {
  description = "With verify_daily: the daily verify also repairs what it finds missing (deploy --verify-repair)."
  type        = bool
  default     = false
}

variable "alert_channel" {
  description = "Notification channel, projects/PROJECT/notificationChannels/ID: creates log-based metrics (duo_secops_run_failed, duo_secops_verify_gaps, duo_secops_lag_ms) and three alert policies notifying it (deploy --alert-channel). Empty: none."
  type        = string
  default     = ""

  validation {
    condition     = var.alert_channel == "" || can(regex("^projects/[a-z][a-z0-9-]{4,28}[a-z0-9]/notificationChannels/[A-Za-z0-9_-]+$", var.alert_channel))
    error_message = "alert_channel must be empty or projects/PROJECT/notificationChannels/ID."
  }
}

variable "lag_alert_minutes" {
  description = "With alert_channel: alert when a stream's checkpoint is more than this many minutes behind (deploy --lag-alert-minutes)."
  type        = number
  default     = 120

  validation {
    condition     = var.lag_alert_minutes >= 1 && var.lag_alert_minutes <= 525600 && floor(var.lag_alert_minutes) == var.lag_alert_minutes
    error_message = "lag_alert_minutes must be a whole number of minutes from 1 to 525600."
  }
}

variable "duo_accounts" {
  description = "Accounts mode (deploy --accounts): the Duo integration is a parent (MSP) one; \"all\" its child accounts, or account ids comma-separated (D and 5-40 upper-case letters and digits). Each (account, stream) is collected by an invocation of its own, fanned out through a work topic. Empty: one account, as before."
  type        = string
  default     = ""

  validation {
    condition     = var.duo_accounts == "" || lower(var.duo_accounts) == "all" || alltrue([for a in split(",", var.duo_accounts) : can(regex("^D[A-Z0-9]{5,40}$", trimspace(a)))])
    error_message = "duo_accounts must be empty, \"all\", or Duo account ids comma-separated (D and 5-40 upper-case letters and digits)."
  }

  validation {
    condition     = var.duo_accounts == "" || !var.verify_daily
    error_message = "verify_daily is not for duo_accounts: verify reads one Duo account, not the child accounts."
  }
}

variable "duo_accounts_exclude" {
  description = "With duo_accounts = \"all\": child account ids left out, comma-separated (deploy --accounts-exclude)."
  type        = string
  default     = ""

  validation {
    condition     = var.duo_accounts_exclude == "" || alltrue([for a in split(",", var.duo_accounts_exclude) : can(regex("^D[A-Z0-9]{5,40}$", trimspace(a)))])
    error_message = "duo_accounts_exclude must be Duo account ids comma-separated (D and 5-40 upper-case letters and digits)."
  }

  # With a list of ids, leaving one out is taking it off the list.
  validation {
    condition     = var.duo_accounts_exclude == "" || lower(var.duo_accounts) == "all"
    error_message = "duo_accounts_exclude needs duo_accounts = \"all\"."
  }
}

variable "max_instances" {
  description = "Accounts mode: the function's maximum instances, how many (account, stream) collections run at once (deploy --max-instances). Outside accounts mode the function runs one instance whatever this says."
  type        = number
  default     = 10

  validation {
    condition     = var.max_instances >= 1 && var.max_instances <= 1000 && floor(var.max_instances) == var.max_instances
    error_message = "max_instances must be a whole number from 1 to 1000."
  }
}

variable "rate_per_child" {
  description = "Accounts mode: Duo limits each child on its own (deploy --rate-per-child): each collection paces up to the whole REQUESTS_PER_MINUTE instead of its share of the parent's (ACCOUNTS_SHARE_RATE=false)."
  type        = bool
  default     = false
}

variable "work_topic_name" {
  description = "Accounts mode: the Pub/Sub topic the work is published on; defaults to \"<name>-work\" (deploy --work-topic)."
  type        = string
  default     = null
}

variable "account_feeds" {
  description = "Accounts mode: child account ids that get SecOps feeds of their own, one per (account, stream) over gs://<bucket>/<prefix>/<account_id>/, instead of one feed per stream for every account (deploy --account-feeds). Sets ACCOUNT_FEEDS on the function."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for a in var.account_feeds : can(regex("^D[A-Z0-9]{5,40}$", a))]) && length(distinct(var.account_feeds)) == length(var.account_feeds)
    error_message = "account_feeds must be distinct Duo account ids (D and 5-40 upper-case letters and digits)."
  }

  validation {
    condition = length(var.account_feeds) == 0 || (var.duo_accounts != "" && alltrue([
      for a in var.account_feeds : lower(var.duo_accounts) == "all" ? !contains([for x in split(",", var.duo_accounts_exclude) : trimspace(x)], a) : contains([for x in split(",", var.duo_accounts) : trimspace(x)], a)
    ]))
    error_message = "account_feeds needs duo_accounts, and each of its accounts must be collected (in duo_accounts, not in duo_accounts_exclude)."
  }
}

variable "requests_per_minute" {
  description = "REQUESTS_PER_MINUTE on the function: the ceiling of each collection's pace per Duo endpoint, \"auto\" (60) or a number (deploy --requests-per-minute). Empty: the function's default."
  type        = string
  default     = ""

  validation {
    condition     = var.requests_per_minute == "" || var.requests_per_minute == "auto" || (can(tonumber(var.requests_per_minute)) && try(tonumber(var.requests_per_minute) > 0, false))
    error_message = "requests_per_minute must be empty, \"auto\" or a number above 0."
  }
}
