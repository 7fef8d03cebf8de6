-- Job files in parts: a file (an export can be hundreds of MB) is written and read a part of at most 1 MB at a
-- time, so neither side holds it whole in memory, and bytea values stay far below the 1 GB a field can hold.
-- `id` names one version of a file: a file written again gets a new row and a new id (replicas cache files by it,
-- for downloads that stream from disk). Parts go with their file (ON DELETE CASCADE).
ALTER TABLE job_files DROP COLUMN bytes;
ALTER TABLE job_files ADD COLUMN id bigint GENERATED ALWAYS AS IDENTITY UNIQUE;
ALTER TABLE job_files ADD COLUMN parts integer NOT NULL DEFAULT 0 CHECK (parts >= 0);

CREATE TABLE job_file_parts (
  file_id bigint NOT NULL REFERENCES job_files (id) ON DELETE CASCADE,
  part integer NOT NULL CHECK (part >= 0),
  bytes bytea NOT NULL,
  PRIMARY KEY (file_id, part)
);
