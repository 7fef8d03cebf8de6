-- Roster's store on PostgreSQL, version 1: everything STORE_DIR holds. Applied once, in one transaction, by
-- src/adapters/postgres/migrate.ts (recorded in roster_migrations). Never edit a migration that has shipped:
-- add the next number instead.

-- Users, one row each. `doc` is the whole stored user (JSON as the embedded store keeps it); the columns beside it
-- are what the planner and the API look users up by. `ord` keeps insertion order (the order scans and
-- GET /users pages use); a replaced user keeps its place.
CREATE TABLE users (
  user_id text PRIMARY KEY,
  connection_id text NOT NULL,
  -- Lower-cased by Roster (normalizeEmail, JavaScript's toLowerCase) before it is written, as Auth0 database
  -- connections store it: the unique index on the column as written is then case-insensitive, and plain
  -- `email = $1` lookups use it. (No lower() here: PostgreSQL's lower() depends on the database's locale and
  -- does not fold every character JavaScript folds.)
  email text NOT NULL,
  username text,
  doc jsonb NOT NULL,
  -- The commit (commits.seq) that wrote it.
  rev bigint NOT NULL,
  ord bigint GENERATED ALWAYS AS IDENTITY
);
CREATE UNIQUE INDEX users_connection_email ON users (connection_id, email);
CREATE UNIQUE INDEX users_connection_username ON users (connection_id, username) WHERE username IS NOT NULL;
-- Scans and pages: per connection and store-wide, in insertion order.
CREATE INDEX users_connection_ord ON users (connection_id, ord);
CREATE UNIQUE INDEX users_ord ON users (ord);

-- One row per user-store commit (a job's chunk): what recovery and undo read back. `seq` is the store-wide
-- revision written into each user's `rev`.
CREATE TABLE commits (
  seq bigserial PRIMARY KEY,
  job_id text NOT NULL,
  chunk integer NOT NULL CHECK (chunk >= 0),
  meta jsonb,
  committed_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (job_id, chunk)
);

-- The small catalog (tenant, connections, jobs, settings, access, tokens) as one document: read whole, changed in
-- a transaction that locks the row. `version` grows by one with every change (replicas refresh on NOTIFY).
CREATE TABLE catalog (
  id boolean PRIMARY KEY DEFAULT true CHECK (id),
  doc jsonb NOT NULL,
  version bigint NOT NULL DEFAULT 1,
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- Per-job files: uploads, error reports, undo pre-images, exports.
CREATE TABLE job_files (
  job_id text NOT NULL,
  name text NOT NULL,
  bytes bytea NOT NULL,
  size bigint NOT NULL CHECK (size >= 0),
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (job_id, name)
);

-- Backup sets: a manifest (backup.json of the file store) and its files, each kept in parts of at most a few MB
-- so that neither writing nor reading one holds a whole export in memory. A set is written in one transaction:
-- a set that is listed is whole.
CREATE TABLE backups (
  name text PRIMARY KEY,
  manifest jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE backup_files (
  backup_name text NOT NULL REFERENCES backups (name) ON DELETE CASCADE,
  file_name text NOT NULL,
  part integer NOT NULL CHECK (part >= 0),
  bytes bytea NOT NULL,
  PRIMARY KEY (backup_name, file_name, part)
);

-- Every access decision, append-only; `id` orders them.
CREATE TABLE audit (
  id bigserial PRIMARY KEY,
  at timestamptz NOT NULL,
  entry jsonb NOT NULL
);

-- Slack messages and mail to send, each sent once by whichever replica claims it: a claim lasts until
-- `claimed_until`, after which another replica may take the row over.
CREATE TABLE outbox (
  id bigserial PRIMARY KEY,
  kind text NOT NULL,
  payload jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  claimed_by text,
  claimed_until timestamptz,
  sent_at timestamptz
);
CREATE INDEX outbox_unsent ON outbox (id) WHERE sent_at IS NULL;

-- Named leases (a schedule's tick, a job's claim): held by one replica until `until`.
CREATE TABLE leases (
  name text PRIMARY KEY,
  holder text NOT NULL,
  until timestamptz NOT NULL
);
