import { z } from 'zod'
import { accessFileSchema } from './access/roles.ts'
import { accessTokenSchema, apiClientSchema } from './api/api-client.ts'
import { apiTokenSchema } from './api/api-token.ts'
import { connectionSchema } from './connections/connection.ts'
import { type Job, jobSchema } from './jobs/job.ts'
import { scheduleClaimSchema } from './schedule-claims.ts'

/**
 * The catalog: tenant, connections, jobs and settings — the small part of the store, kept in one JSON document.
 * Users live elsewhere (a journal that scales with the file, not the tenant). `version` changes when the shape
 * does; an older or corrupt document is refused at start with the list of what is wrong.
 */
export const tenantSchema = z.object({
  name: z.string().regex(/^[a-z0-9][a-z0-9-]*$/),
  /** Tenant owners: completion emails go to them. */
  owners: z.array(z.email()),
  createdAt: z.string(),
})
export type Tenant = z.infer<typeof tenantSchema>

export const catalogSchema = z.object({
  version: z.literal(1),
  tenant: tenantSchema,
  connections: z.array(connectionSchema),
  jobs: z.array(jobSchema),
  /**
   * Column labels that earlier exports gave to fields (`Plan` → `user_metadata.plan`), so their files
   * re-import. The extension's eleven default labels are built in (domain/import/export-labels.ts).
   */
  exportLabels: z.record(z.string(), z.string()),
  /**
   * API tokens (hashed). Optional, not defaulted: catalogs written before the API load unchanged, and code reads
   * a missing list as empty.
   */
  apiTokens: z.array(apiTokenSchema).optional(),
  /** API clients (client-credentials grant), secrets hashed. Optional for the same reason as `apiTokens`. */
  apiClients: z.array(apiClientSchema).optional(),
  /** Access tokens issued to API clients (hashed), pruned as they expire. */
  accessTokens: z.array(accessTokenSchema).optional(),
  /**
   * The Slack access mapping (Slack user id → role) of a store on PostgreSQL, shared by every replica. The
   * embedded store keeps it in STORE_DIR/access.json instead (people edit that file by hand), never here.
   */
  access: accessFileSchema.optional(),
  /**
   * Per schedule (`retention`, `backup`), the last tick a replica claimed, and which one: every replica's timer
   * fires, the first to claim a tick runs it (domain/schedule-claims.ts). Optional, for older catalogs.
   */
  schedules: z.record(z.string(), scheduleClaimSchema).optional(),
})
export type Catalog = z.infer<typeof catalogSchema>

/**
 * The job `id` of a catalog change's draft as an object the change may edit in place: the draft's jobs are the
 * catalog's own, frozen and shared with the document before the change (see applyToCopy), so the first edit of one
 * puts a copy of it in its place. Undefined when the draft has no such job.
 */
export function editJob(draft: Catalog, id: string): Job | undefined {
  const at = draft.jobs.findIndex((job) => job.id === id)
  if (at === -1) return undefined
  const job = draft.jobs[at] as Job
  if (!Object.isFrozen(job)) return job
  const copy = structuredClone(job)
  draft.jobs[at] = copy
  return copy
}
