-- Quartz.NET 4.7 ADO job store tables for PostgreSQL (Npgsql), applied by QuartzSchema at start-up under an advisory lock,
-- so replicas starting together create them once.
-- Written from Quartz's documented table layout (the 3.x tables plus the columns and tables 4.0-4.7 added).
-- Idempotent: every statement creates only what is missing and nothing is ever dropped.
-- {0} is the table prefix (Retraining:TablePrefix, default qrtz_). Statements end with ';' at the end of a line.

CREATE TABLE IF NOT EXISTS {0}job_details (
  sched_name         TEXT    NOT NULL,
  job_name           TEXT    NOT NULL,
  job_group          TEXT    NOT NULL,
  description        TEXT    NULL,
  job_class_name     TEXT    NOT NULL,
  is_durable         BOOLEAN NOT NULL,
  is_nonconcurrent   BOOLEAN NOT NULL,
  is_update_data     BOOLEAN NOT NULL,
  requests_recovery  BOOLEAN NOT NULL,
  job_data           BYTEA   NULL,
  PRIMARY KEY (sched_name, job_name, job_group)
);

CREATE TABLE IF NOT EXISTS {0}triggers (
  sched_name              TEXT    NOT NULL,
  trigger_name            TEXT    NOT NULL,
  trigger_group           TEXT    NOT NULL,
  job_name                TEXT    NOT NULL,
  job_group               TEXT    NOT NULL,
  description             TEXT    NULL,
  next_fire_time          BIGINT  NULL,
  prev_fire_time          BIGINT  NULL,
  priority                INTEGER NULL,
  trigger_state           TEXT    NOT NULL,
  trigger_type            TEXT    NOT NULL,
  start_time              BIGINT  NOT NULL,
  end_time                BIGINT  NULL,
  calendar_name           TEXT    NULL,
  misfire_instr           INTEGER NULL,
  misfire_orig_fire_time  BIGINT  NULL,
  execution_group         TEXT    NULL,
  preferred_node          TEXT    NULL,
  preferred_node_auto     BOOLEAN NOT NULL DEFAULT FALSE,
  retry_policy            TEXT    NULL,
  retry_attempt           INTEGER NULL,
  continues_trigger_name  TEXT    NULL,
  continues_trigger_group TEXT    NULL,
  continuation_condition  INTEGER NULL,
  overlap_policy          INTEGER NULL,
  pause_reason            TEXT    NULL,
  paused_by               TEXT    NULL,
  paused_at               BIGINT  NULL,
  misfire_threshold       BIGINT  NULL,
  fixed_delay             BOOLEAN NULL,
  job_data                BYTEA   NULL,
  PRIMARY KEY (sched_name, trigger_name, trigger_group),
  FOREIGN KEY (sched_name, job_name, job_group) REFERENCES {0}job_details (sched_name, job_name, job_group)
);

CREATE TABLE IF NOT EXISTS {0}simple_triggers (
  sched_name       TEXT   NOT NULL,
  trigger_name     TEXT   NOT NULL,
  trigger_group    TEXT   NOT NULL,
  repeat_count     BIGINT NOT NULL,
  repeat_interval  BIGINT NOT NULL,
  times_triggered  BIGINT NOT NULL,
  PRIMARY KEY (sched_name, trigger_name, trigger_group),
  FOREIGN KEY (sched_name, trigger_name, trigger_group) REFERENCES {0}triggers (sched_name, trigger_name, trigger_group) ON DELETE CASCADE
);

CREATE TABLE IF NOT EXISTS {0}cron_triggers (
  sched_name       TEXT NOT NULL,
  trigger_name     TEXT NOT NULL,
  trigger_group    TEXT NOT NULL,
  cron_expression  TEXT NOT NULL,
  time_zone_id     TEXT NULL,
  PRIMARY KEY (sched_name, trigger_name, trigger_group),
  FOREIGN KEY (sched_name, trigger_name, trigger_group) REFERENCES {0}triggers (sched_name, trigger_name, trigger_group) ON DELETE CASCADE
);

CREATE TABLE IF NOT EXISTS {0}simprop_triggers (
  sched_name     TEXT    NOT NULL,
  trigger_name   TEXT    NOT NULL,
  trigger_group  TEXT    NOT NULL,
  str_prop_1     TEXT    NULL,
  str_prop_2     TEXT    NULL,
  str_prop_3     TEXT    NULL,
  int_prop_1     INTEGER NULL,
  int_prop_2     INTEGER NULL,
  long_prop_1    BIGINT  NULL,
  long_prop_2    BIGINT  NULL,
  dec_prop_1     NUMERIC NULL,
  dec_prop_2     NUMERIC NULL,
  bool_prop_1    BOOLEAN NULL,
  bool_prop_2    BOOLEAN NULL,
  time_zone_id   TEXT    NULL,
  PRIMARY KEY (sched_name, trigger_name, trigger_group),
  FOREIGN KEY (sched_name, trigger_name, trigger_group) REFERENCES {0}triggers (sched_name, trigger_name, trigger_group) ON DELETE CASCADE
);

CREATE TABLE IF NOT EXISTS {0}blob_triggers (
  sched_name     TEXT NOT NULL,
  trigger_name   TEXT NOT NULL,
  trigger_group  TEXT NOT NULL,
  blob_data      BYTEA NULL,
  PRIMARY KEY (sched_name, trigger_name, trigger_group),
  FOREIGN KEY (sched_name, trigger_name, trigger_group) REFERENCES {0}triggers (sched_name, trigger_name, trigger_group) ON DELETE CASCADE
);

CREATE TABLE IF NOT EXISTS {0}calendars (
  sched_name     TEXT NOT NULL,
  calendar_name  TEXT NOT NULL,
  calendar       BYTEA NOT NULL,
  PRIMARY KEY (sched_name, calendar_name)
);

CREATE TABLE IF NOT EXISTS {0}paused_trigger_grps (
  sched_name     TEXT   NOT NULL,
  trigger_group  TEXT   NOT NULL,
  pause_reason   TEXT   NULL,
  paused_by      TEXT   NULL,
  paused_at      BIGINT NULL,
  PRIMARY KEY (sched_name, trigger_group)
);

CREATE TABLE IF NOT EXISTS {0}paused_job_grps (
  sched_name    TEXT   NOT NULL,
  job_group     TEXT   NOT NULL,
  pause_reason  TEXT   NULL,
  paused_by     TEXT   NULL,
  paused_at     BIGINT NULL,
  PRIMARY KEY (sched_name, job_group)
);

CREATE TABLE IF NOT EXISTS {0}fired_triggers (
  sched_name                TEXT    NOT NULL,
  entry_id                  TEXT    NOT NULL,
  trigger_name              TEXT    NOT NULL,
  trigger_group             TEXT    NOT NULL,
  instance_name             TEXT    NOT NULL,
  fired_time                BIGINT  NOT NULL,
  sched_time                BIGINT  NOT NULL,
  priority                  INTEGER NOT NULL,
  state                     TEXT    NOT NULL,
  job_name                  TEXT    NULL,
  job_group                 TEXT    NULL,
  is_nonconcurrent          BOOLEAN NULL,
  requests_recovery         BOOLEAN NULL,
  execution_group           TEXT    NULL,
  progress                  INTEGER NULL,
  progress_message          TEXT    NULL,
  interrupt_requested_time  BIGINT  NULL,
  PRIMARY KEY (sched_name, entry_id)
);

CREATE TABLE IF NOT EXISTS {0}scheduler_state (
  sched_name         TEXT   NOT NULL,
  instance_name      TEXT   NOT NULL,
  last_checkin_time  BIGINT NOT NULL,
  checkin_interval   BIGINT NOT NULL,
  quartz_version     TEXT   NULL,
  PRIMARY KEY (sched_name, instance_name)
);

CREATE TABLE IF NOT EXISTS {0}locks (
  sched_name  TEXT NOT NULL,
  lock_name   TEXT NOT NULL,
  PRIMARY KEY (sched_name, lock_name)
);

CREATE TABLE IF NOT EXISTS {0}execution_history (
  sched_name           TEXT    NOT NULL,
  entry_id             TEXT    NOT NULL,
  instance_name        TEXT    NOT NULL,
  job_name             TEXT    NOT NULL,
  job_group            TEXT    NOT NULL,
  trigger_name         TEXT    NOT NULL,
  trigger_group        TEXT    NOT NULL,
  fired_time           BIGINT  NOT NULL,
  run_time             BIGINT  NOT NULL,
  succeeded            BOOLEAN NOT NULL,
  error_message        TEXT    NULL,
  retry_attempt        INTEGER NOT NULL DEFAULT 0,
  retry_scheduled      BOOLEAN NOT NULL DEFAULT FALSE,
  execution_log        TEXT    NULL,
  result               INTEGER NULL,
  summary              TEXT    NULL,
  metrics              TEXT    NULL,
  manual               BOOLEAN NULL,
  fire_instance_id     TEXT    NULL,
  job_input            TEXT    NULL,
  job_input_too_large  BOOLEAN NULL,
  PRIMARY KEY (sched_name, entry_id)
);

CREATE TABLE IF NOT EXISTS {0}misfire_history (
  sched_name     TEXT    NOT NULL,
  entry_id       TEXT    NOT NULL,
  instance_name  TEXT    NOT NULL,
  trigger_name   TEXT    NOT NULL,
  trigger_group  TEXT    NOT NULL,
  job_name       TEXT    NULL,
  job_group      TEXT    NULL,
  misfire_time   BIGINT  NOT NULL,
  sched_time     BIGINT  NULL,
  reason         INTEGER NULL,
  PRIMARY KEY (sched_name, entry_id)
);

CREATE TABLE IF NOT EXISTS {0}job_status (
  sched_name            TEXT    NOT NULL,
  job_group             TEXT    NOT NULL,
  job_name              TEXT    NOT NULL,
  first_fired_time      BIGINT  NOT NULL,
  last_fired_time       BIGINT  NOT NULL,
  last_result           INTEGER NOT NULL,
  last_run_time         BIGINT  NOT NULL,
  last_instance_name    TEXT    NOT NULL,
  last_entry_id         TEXT    NULL,
  last_summary          TEXT    NULL,
  last_success_time     BIGINT  NULL,
  last_failure_time     BIGINT  NULL,
  last_failure_message  TEXT    NULL,
  consecutive_failures  INTEGER NOT NULL DEFAULT 0,
  run_count             BIGINT  NOT NULL DEFAULT 0,
  failure_count         BIGINT  NOT NULL DEFAULT 0,
  PRIMARY KEY (sched_name, job_group, job_name)
);

CREATE INDEX IF NOT EXISTS idx_{0}j_g_n ON {0}job_details (sched_name, job_group, job_name);
CREATE INDEX IF NOT EXISTS idx_{0}t_j ON {0}triggers (sched_name, job_name, job_group);
CREATE INDEX IF NOT EXISTS idx_{0}t_g_n ON {0}triggers (sched_name, trigger_group, trigger_name);
CREATE INDEX IF NOT EXISTS idx_{0}t_c ON {0}triggers (sched_name, calendar_name);
CREATE INDEX IF NOT EXISTS idx_{0}t_nft_st ON {0}triggers (sched_name, trigger_state, next_fire_time, priority DESC, misfire_instr);
CREATE INDEX IF NOT EXISTS idx_{0}ft_inst_job_req_rcvry ON {0}fired_triggers (sched_name, instance_name, requests_recovery);
CREATE INDEX IF NOT EXISTS idx_{0}ft_j_g ON {0}fired_triggers (sched_name, job_name, job_group);
CREATE INDEX IF NOT EXISTS idx_{0}ft_t_g ON {0}fired_triggers (sched_name, trigger_name, trigger_group);
CREATE INDEX IF NOT EXISTS idx_{0}eh_fired_time ON {0}execution_history (sched_name, fired_time);
CREATE INDEX IF NOT EXISTS idx_{0}eh_job_time ON {0}execution_history (sched_name, job_group, job_name, fired_time);
CREATE INDEX IF NOT EXISTS idx_{0}mh_misfire_time ON {0}misfire_history (sched_name, misfire_time);
