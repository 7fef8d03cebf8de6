-- Notifications sent once, by any replica (issue 14): the Slack thread of each job, the Slack outbox, the mail
-- outbox and the replay guard's recent Slack requests. Written by src/adapters/postgres/{slack-threads,
-- slack-outbox,mail-outbox,replay-keys}.ts; each replica claims what it sends (claimed_by, claimed_until) with
-- FOR UPDATE SKIP LOCKED, and a claim that lapses (its replica died mid-send) is taken by another replica.

-- Job → its Slack thread (the parent message). A row without `ts` is only the mark that a flow (or a notifier
-- making a fallback thread) is posting the parent, until `expected_until`: notifiers elsewhere wait for it.
CREATE TABLE slack_threads (
  job_id text PRIMARY KEY,
  channel text,
  ts text,
  user_id text,
  expected_until timestamptz,
  CHECK ((ts IS NULL) = (channel IS NULL))
);

-- The Slack outbox. `job_key` is the job a notification speaks for (or a key of its own): its rows are sent one
-- at a time in (rank, seq) order, a `parent` (rank 0) first. `body` is the notification as planned (NULL for an id
-- only recorded as settled). Settled rows stay, so the same id is never planned again; pruned with their jobs.
CREATE TABLE slack_outbox (
  id text PRIMARY KEY,
  seq bigint GENERATED ALWAYS AS IDENTITY,
  job_key text NOT NULL,
  rank smallint NOT NULL DEFAULT 1,
  body jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  claimed_by text,
  claimed_until timestamptz,
  settled_at timestamptz
);
CREATE INDEX slack_outbox_pending ON slack_outbox (job_key, rank, seq) WHERE settled_at IS NULL;

-- Completion emails, one per job: queued, then sent (`sent_at`) or given up on (`failed_at`). `due_at` is when the
-- next attempt may be made (retries back off).
CREATE TABLE mail_outbox (
  job_id text PRIMARY KEY,
  mail jsonb NOT NULL,
  attempts integer NOT NULL DEFAULT 0,
  last_error text,
  due_at timestamptz NOT NULL DEFAULT now(),
  claimed_by text,
  claimed_until timestamptz,
  sent_at timestamptz,
  sent_via text,
  failed_at timestamptz
);
CREATE INDEX mail_outbox_due ON mail_outbox (due_at) WHERE sent_at IS NULL AND failed_at IS NULL;

-- Slack requests handled in the replay window: the first INSERT of a key wins, on whichever replica.
CREATE TABLE slack_requests (
  key text PRIMARY KEY,
  seen_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX slack_requests_seen ON slack_requests (seen_at);

-- One-time marks ("the Slack outbox was opened before"): inserted once, by whichever replica comes first.
CREATE TABLE notification_marks (
  mark text PRIMARY KEY,
  at timestamptz NOT NULL DEFAULT now()
);
