-- Users' `doc` as `json`, the text Roster writes (JSON.stringify of the user), kept as written: reading it back is a
-- copy, where jsonb made PostgreSQL print every user anew (jsonb_out: ~14 µs a user, most of an export's time at
-- 1M users; measured for issue 14's P4) and reordered nested keys (shorter first), so a user's metadata came back
-- in another order than the embedded store keeps. Nothing queries inside `doc`: lookups use the columns beside
-- it. Rows written before this migration keep jsonb's text (its key order and separators): exports read both
-- alike (src/adapters/postgres/user-scan.ts). The table is rewritten once, under its lock, at start.
ALTER TABLE users ALTER COLUMN doc TYPE json USING doc::json;
