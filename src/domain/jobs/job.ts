import { z } from 'zod'
import { exportFieldSchema } from '../export/export-fields.ts'
import { exportFormats } from '../export/format.ts'

/**
 * Job records. Our own records use camelCase and `…At` ISO timestamps; `toAuth0Job` (auth0-view.ts) renders the
 * Management API shape. Statuses and types are Auth0's, plus `users_undo`, which Auth0 does not have.
 */
export const jobStatuses = ['pending', 'processing', 'completed', 'failed', 'expired'] as const
export type JobStatus = (typeof jobStatuses)[number]

export const jobTypes = ['users_import', 'users_export', 'users_undo'] as const
export type JobType = (typeof jobTypes)[number]

export const requesterSchema = z.object({
  /** Which interface asked: each one calls the same use case. */
  via: z.enum(['cli', 'slack', 'api', 'cron']),
  /** Slack user id, API token name, OS user… whatever identifies the person or system. */
  id: z.string(),
  name: z.string().optional(),
})
export type Requester = z.infer<typeof requesterSchema>

const jobBase = {
  id: z.string().regex(/^job_[A-Za-z0-9]{16}$/),
  status: z.enum(jobStatuses),
  connectionId: z.string(),
  connectionName: z.string(),
  createdAt: z.string(),
  startedAt: z.string().optional(),
  finishedAt: z.string().optional(),
  expiredAt: z.string().optional(),
  requestedBy: requesterSchema,
  /** Why a job failed as a whole (per-user failures never fail a job: they are in its error report). */
  statusDetails: z.string().optional(),
  /**
   * Written (durably) each time a run of the job starts, cleared when it settles or stops cleanly: `count` runs in a
   * row began with `chunks` commits already made and none ended. Recovery reads it to set aside a job that keeps
   * stopping the process instead of starting it again forever.
   */
  attempt: z.object({ count: z.number().int().min(1), chunks: z.number().int().min(0) }).optional(),
  /**
   * The replica running the job (issue 14): set when a replica claims it, renewed while it runs, dropped when the
   * job settles or the replica stops. Another replica takes the job only once `until` has passed (domain/jobs/
   * job-claims.ts). Optional: catalogs written before replicas load unchanged.
   */
  lease: z.object({ holder: z.string().min(1), until: z.string() }).optional(),
}

export const importSummarySchema = z.object({
  inserted: z.number().int(),
  updated: z.number().int(),
  failed: z.number().int(),
  total: z.number().int(),
  /** Roster extra: of the matched users, how many needed no change (counted in `updated`, as Auth0 does). */
  unchanged: z.number().int(),
})
export type ImportSummary = z.infer<typeof importSummarySchema>

export const importOptionsSchema = z.object({
  upsert: z.boolean(),
  /** Roster extra: JSON merge-patch metadata instead of replacing it wholesale. */
  merge: z.boolean(),
  /** Roster extra: plan and report, write nothing. */
  dryRun: z.boolean(),
  sendCompletionEmail: z.boolean(),
  externalId: z.string().optional(),
})
export type ImportOptions = z.infer<typeof importOptionsSchema>

export const uploadFormats = ['json', 'ndjson', 'csv'] as const

/**
 * One part of an import into an Auth0 tenant (issue 13): the Auth0 import job Roster submitted for part `part` of
 * chunk `chunk` (the parts are listed in that chunk's journal commit). Written durably as soon as Auth0 returns the
 * id, so a restarted Roster polls that job instead of submitting the part again; `status` follows Auth0's job.
 */
export const tenantPartSchema = z.object({
  chunk: z.number().int().min(0),
  part: z.number().int().min(0),
  auth0JobId: z.string(),
  status: z.enum(jobStatuses),
  /** Auth0's own counts for the part, once its job completed. */
  summary: z
    .object({
      inserted: z.number().int(),
      updated: z.number().int(),
      failed: z.number().int(),
      total: z.number().int(),
    })
    .optional(),
})
export type TenantPart = z.infer<typeof tenantPartSchema>

export const dryRunDecisionSchema = z.object({
  outcome: z.enum(['imported', 'cancelled']),
  by: requesterSchema,
  at: z.string(),
  /** The import it started (`imported`). */
  importJobId: z.string().optional(),
})
export type DryRunDecision = z.infer<typeof dryRunDecisionSchema>

export const importJobSchema = z.object({
  ...jobBase,
  type: z.literal('users_import'),
  options: importOptionsSchema,
  upload: z.object({
    fileName: z.string(),
    format: z.enum(uploadFormats),
    bytes: z.number().int(),
    /** User objects in the file: the job's `total`. */
    rows: z.number().int(),
    /** Users per atomic store commit. Recorded so a job resumed by a newer Roster splits the file the same way. */
    chunkRows: z.number().int().positive(),
  }),
  summary: importSummarySchema.optional(),
  /** Keys the importer recognized as read-only export columns and ignored (e.g. `Created At`). */
  ignoredFields: z.array(z.string()).optional(),
  /** Set when an undo job reverted this one. */
  undoneBy: z.string().optional(),
  /** Into an Auth0 tenant: the Auth0 import jobs of its parts, in the order they were submitted. */
  tenantParts: z.array(tenantPartSchema).optional(),
  /**
   * A dry run's Import or Cancel, decided once for good: recorded in the same catalog change that creates the import
   * (or cancels), so a double click, two people, two replicas or a restart between the two never import twice.
   */
  decision: dryRunDecisionSchema.optional(),
})
export type ImportJob = z.infer<typeof importJobSchema>

export const undoSummarySchema = z.object({
  /** Users the original job inserted, now removed. */
  deleted: z.number().int(),
  /** Users the original job updated, now back to their earlier state. */
  restored: z.number().int(),
  /** Users changed by a later job: left as they are and listed in the error report. */
  conflicts: z.number().int(),
  total: z.number().int(),
})
export type UndoSummary = z.infer<typeof undoSummarySchema>

export const undoJobSchema = z.object({
  ...jobBase,
  type: z.literal('users_undo'),
  undoOf: z.string(),
  summary: undoSummarySchema.optional(),
  /**
   * Against an Auth0 tenant: the upsert import jobs that restore the updated users (`chunk` 0; parts as planned in
   * the undo's journal commit), each recorded as soon as Auth0 returns its id, so a restart polls it, never re-sends.
   */
  tenantParts: z.array(tenantPartSchema).optional(),
})
export type UndoJob = z.infer<typeof undoJobSchema>

export const exportJobSchema = z.object({
  ...jobBase,
  type: z.literal('users_export'),
  /** Absent: every connection of the tenant (Auth0: "If you omit the connection_id…"). */
  connectionId: z.string().optional(),
  connectionName: z.string().optional(),
  format: z.enum(exportFormats),
  fields: z.array(exportFieldSchema),
  limit: z.number().int().min(1).optional(),
  gzip: z.boolean(),
  /** Set on jobs the backup schedule started: their file is also kept under STORE_DIR/backups. */
  backup: z.boolean().optional(),
  result: z
    .object({
      /** Named after the tenant, as Auth0 names export files: `acme.csv.gz`. */
      fileName: z.string(),
      users: z.number().int(),
      bytes: z.number().int(),
    })
    .optional(),
})
export type ExportJob = z.infer<typeof exportJobSchema>

export const jobSchema = z.discriminatedUnion('type', [importJobSchema, exportJobSchema, undoJobSchema])
export type Job = z.infer<typeof jobSchema>

/** Which status may follow which. `processing` stays `processing` across a restart: the job resumes. */
const nextStatuses: Record<JobStatus, readonly JobStatus[]> = {
  pending: ['processing', 'failed', 'expired'],
  processing: ['completed', 'failed'],
  completed: ['expired'],
  failed: ['expired'],
  expired: [],
}

export function canMove(from: JobStatus, to: JobStatus): boolean {
  return nextStatuses[from].includes(to)
}

/** Jobs that hold an import slot (`MAX_ACTIVE_IMPORTS`): Auth0 counts pending and processing alike. */
export function isActive(job: Job): boolean {
  return job.status === 'pending' || job.status === 'processing'
}

/**
 * Jobs that write users. Dry runs and exports only read, so they neither take an import slot nor hold undo data.
 */
export function writesUsers(job: Job): boolean {
  if (job.type === 'users_import') return !job.options.dryRun
  return job.type === 'users_undo'
}
