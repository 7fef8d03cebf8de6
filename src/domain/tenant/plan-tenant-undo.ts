import { upsertableFields } from '../import/plan-chunk.ts'
import type { UndoChunk } from '../import/plan-undo.ts'
import type { ReportEntry } from '../import/report.ts'
import type { TenantImportRow } from '../import/tenant-rows.ts'
import type { StoredUser } from '../users/user.ts'

type TenantUser = Omit<StoredUser, 'rev'>

/**
 * Undo against an Auth0 tenant (issue 13, decision 4). What an upsert cannot restore, and so what this undo does
 * not put back (README "Use Roster with your Auth0 tenant" says the same):
 * - fields Auth0 never upserts: `email`, `username`, `blocked`, `password_hash` (an import never changed them
 *   either: Roster plans updates with Auth0's upsert rules);
 * - a field the job ADDED to a user who had none (`nickname`, `phone_number`…): a missing attribute leaves the
 *   tenant's value as it is, and the import schema has no null. Reported per user (`NOT_RESTORED`), left as is.
 *   Metadata the job added is emptied (`{}`: an upsert replaces metadata whole) rather than removed;
 * - password hashes and MFA factors the job changed: the tenant never gives them back, so the pre-image Roster
 *   kept of a tenant user has none to restore;
 * - `updated_at` (Auth0 stamps the restore), and anything done since by someone else (a conflict, left alone).
 */
export interface TenantUndoPlan {
  /** Users the job inserted, unchanged since: deleted. */
  deletes: string[]
  /** Pre-images of users the job updated, unchanged since, as upsert rows, with their index in the report. */
  restores: { index: number; user: TenantImportRow }[]
  /** Users changed or deleted since the job: left alone. */
  conflicts: ReportEntry[]
  /** Restored users with a field an upsert could not take back (`NOT_RESTORED`): for the report. */
  notes: ReportEntry[]
  tally: { deleted: number; restored: number; conflicts: number }
}

/** The fields a restore row sets: everything Roster's upsert may change, secrets included when the pre-image has them. */
const metadataFields = new Set(['app_metadata', 'user_metadata'])
const secretFields = new Set(['custom_password_hash', 'mfa_factors'])

/**
 * Plans an undo against the tenant's users as they are now (`current`, by user_id). A user is "changed since" when
 * it is gone, its `updated_at` is later than `finishedAt` (when the import job settled, after its last Auth0 job
 * completed), or its email is not the pre-image's (an upsert, which matches by email, would miss it). Pure.
 */
export function planTenantUndo(
  chunks: readonly UndoChunk[],
  current: (userId: string) => TenantUser | undefined,
  finishedAt: string,
): TenantUndoPlan {
  const plan: TenantUndoPlan = {
    deletes: [],
    restores: [],
    conflicts: [],
    notes: [],
    tally: { deleted: 0, restored: 0, conflicts: 0 },
  }
  const settledMs = Date.parse(finishedAt)
  let index = 0
  for (const chunk of chunks) {
    for (const { user_id, before } of chunk.preImages) {
      const now = current(user_id)
      const why = changedSince(now, before, settledMs)
      if (why !== null) {
        plan.conflicts.push({
          index,
          user: { user_id, email: now?.email ?? before?.email },
          errors: [{ code: 'CONFLICT', path: 'user_id', message: why }],
        })
        plan.tally.conflicts++
      } else if (before === null) {
        plan.deletes.push(user_id)
        plan.tally.deleted++
      } else if (now) {
        plan.restores.push({ index, user: restoreRow(before, now) })
        const lost = notRestorable(before, now)
        if (lost.length > 0) {
          plan.notes.push({
            index,
            user: { user_id, email: before.email },
            errors: lost.map((field) => ({
              code: 'NOT_RESTORED',
              path: field,
              message:
                `The job added ${field}, and Auth0's upsert cannot remove a field: it was left as it is. ` +
                'Remove it in the Auth0 Dashboard or with PATCH /api/v2/users/{id} if it should go.',
            })),
          })
        }
        plan.tally.restored++
      }
      index++
    }
  }
  return plan
}

function changedSince(
  now: TenantUser | undefined,
  before: StoredUser | null,
  settledMs: number,
): string | null {
  if (!now) return 'The user was deleted after this job; it was left deleted.'
  const updatedMs = Date.parse(now.updated_at)
  if (Number.isFinite(updatedMs) && Number.isFinite(settledMs) && updatedMs > settledMs) {
    return `The user changed in the tenant after this job (updated_at ${now.updated_at}); it was left as it is.`
  }
  if (before && before.email.toLowerCase() !== now.email.toLowerCase()) {
    return `The user's email is now ${now.email}: it changed after this job, so it was left as it is.`
  }
  return null
}

/**
 * The pre-image as an upsert row: `user_id` without its provider prefix and the email it is matched by, then every
 * field an upsert may set that the pre-image has. `email_verified` always (an upsert without it resets it to
 * false). Metadata the pre-image lacks but the user now has is sent empty: an upsert replaces metadata whole.
 */
function restoreRow(before: StoredUser, now: TenantUser): TenantImportRow {
  const bar = before.user_id.indexOf('|')
  const row: Record<string, unknown> = { user_id: before.user_id.slice(bar + 1), email: before.email }
  for (const field of upsertableFields) {
    const value: unknown = before[field]
    if (value !== undefined) row[field] = value
    else if (metadataFields.has(field) && now[field] !== undefined) row[field] = {}
  }
  return row as TenantImportRow
}

/** Fields the user has now that the pre-image had not: an upsert leaves a missing attribute as it is. */
function notRestorable(before: StoredUser, now: TenantUser): string[] {
  return upsertableFields.filter(
    (field) =>
      !metadataFields.has(field) &&
      !secretFields.has(field) &&
      before[field] === undefined &&
      now[field] !== undefined,
  )
}
