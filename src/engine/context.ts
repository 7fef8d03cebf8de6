import type { Logger } from '../logger.ts'
import type { JobEvents } from './events.ts'
import type { Artifacts, CatalogStore, Clock, Ids, ImportFileReader, StoreMaintenance } from './ports.ts'
import type { TenantDirectory } from './tenant/tenant-directory.ts'
import type { AsyncUserStore } from './user-directory.ts'

/** Limits the engine enforces, from configuration. */
export interface EngineLimits {
  /** Largest users file accepted, in bytes. Auth0: 512000. */
  importMaxBytes: number
  /** Writing jobs (imports, undos) that may run at once; more wait, pending, in order. Auth0: 2. */
  maxActiveImports: number
  /** Hours a job's files are kept before the job expires. Auth0: 24. */
  retentionHours: number
  /** Users per atomic commit. A 500 KB file (~2,000 users) is one commit: one fsync. */
  chunkRows: number
  /**
   * How often an Auth0 job is polled (tenant mode): first after `firstMs`, then 1.5× longer each time, at most
   * `maxMs`. Default 500 ms to 5 s; tests shorten it.
   */
  tenantPoll?: { firstMs: number; maxMs: number }
  /**
   * Tenant mode: an import with at least this many rows left to plan reads the connection's users with one Auth0
   * export job rather than one lookup per row (default 1,000: why in engine/tenant/tenant-snapshot.ts).
   */
  tenantSnapshotRows?: number
  /**
   * How long a replica's claim on a job holds without being renewed (default 30 s): another replica takes the job
   * over once it lapsed. `leaseRenewMs` (default a third of it) is how often the running replica renews its leases
   * and every replica looks for jobs (a dead replica sends no notification). Tests shorten them.
   */
  leaseMs?: number
  leaseRenewMs?: number
  /** The embedded store's journal is compacted once it holds this much (default 64 MiB: compact-when-quiet.ts). */
  compactAtJournalBytes?: number
}

/**
 * This process among the Roster replicas sharing a store (issue 14): `id` is new at every start and holds the leases
 * of the jobs it runs; `shared` is true when other processes may run jobs from the same catalog (PostgreSQL). The
 * embedded store is one process (its STORE_DIR is locked): a lease held by another id is a dead process's.
 */
export interface Replica {
  id: string
  shared: boolean
}

/**
 * Fault injection, for crash tests only (FAULT_PAUSE_AFTER_CHUNK): a kill -9 lands at a point a test chose rather
 * than wherever a race puts it. Off unless configured; production never sets it.
 */
export interface FaultInjection {
  /** An import (or dry run) stops after its n-th chunk (1-based) is committed (planned) and waits until stopped. */
  pauseAfterChunk?: number | undefined
  /**
   * An import into an Auth0 tenant stops right after the Auth0 job id of its n-th part (1-based, in the order the
   * ids are recorded) is durable, and waits until stopped: a crash then finds the id recorded, the job not polled.
   */
  pauseAfterTenantPart?: number | undefined
}

/** Everything a use case needs, passed explicitly: no module-level state, so tests build their own. */
export interface EngineContext {
  /** The users, embedded or on PostgreSQL: every read is a promise, so no backend needs them in memory. */
  users: AsyncUserStore
  /** The embedded store's journal upkeep (compaction); absent for a backend that has none (PostgreSQL). */
  maintenance?: StoreMaintenance
  catalog: CatalogStore
  artifacts: Artifacts
  clock: Clock
  ids: Ids
  logger: Logger
  events: JobEvents
  limits: EngineLimits
  replica: Replica
  faults?: FaultInjection
  /**
   * The Auth0 tenant that is the directory (AUTH0_DOMAIN set): imports, undos and exports go to it; `users` then
   * holds no users and its journal is only the durable log of the tenant jobs' parts. Absent: the embedded store.
   */
  tenant?: TenantDirectory
  /**
   * Reads and checks import files on another thread (a worker): absent, or while nothing else runs (`use: 'busy'`),
   * the request's own thread does it. Tests pass `use: 'always'` to take that path with one file.
   */
  fileReader?: { reader: ImportFileReader; use: 'busy' | 'always' }
}

/** Artifact names within a job's folder. */
export const artifactNames = {
  upload: 'upload',
  errors: 'errors.json',
  undo: 'undo.json',
  preview: 'preview.json',
} as const

/** Gives the event loop a turn: long CPU work is cut into slices so Slack requests are still acked in time. */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve))
}
