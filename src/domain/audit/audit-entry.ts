import { z } from 'zod'
import { requesterSchema } from '../jobs/job.ts'

/**
 * One decision, as the audit log keeps it: who asked (Slack user, API token name, CLI user), what they asked for,
 * where (channel, endpoint), and whether it was allowed. Never a secret: tokens are named, not quoted.
 */
export const auditEntrySchema = z.object({
  at: z.string(),
  actor: requesterSchema,
  /** A stable verb: `import`, `export`, `undo`, `jobs.read`, `access.change`, `api.request`… */
  action: z.string(),
  /** What it was about: a job id, a connection, an endpoint. */
  target: z.string().optional(),
  /** Where: a Slack channel id, `POST /api/v2/jobs/users-imports`… */
  where: z.string().optional(),
  allowed: z.boolean(),
  /** Why it was refused, or what happened (`202`, `job_x created`). */
  detail: z.string().optional(),
})
export type AuditEntry = z.infer<typeof auditEntrySchema>
