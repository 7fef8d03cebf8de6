-- `outbox` and `leases` of 001_store were planned before the notification tables (003_notifications: one table per
-- outbox, with claims) and the leases of jobs and schedule ticks kept in the catalog (src/engine/job-leases.ts,
-- src/domain/schedule-claims.ts) replaced them; nothing ever read or wrote them. Dropped so that the schema says
-- what Roster uses. IF EXISTS: a database someone tidied by hand migrates too.
DROP TABLE IF EXISTS outbox;
DROP TABLE IF EXISTS leases;
