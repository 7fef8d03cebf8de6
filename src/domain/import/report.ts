import { redactSecrets, scrubText, secretStrings } from '../users/secrets.ts'
import type { RowError } from './validate-row.ts'

/**
 * One line of a job's error report: Auth0's `{user, errors}` (the user as given, secrets redacted) plus the
 * user's 0-based position in the file, which Auth0 leaves out and every person fixing a file needs.
 */
export interface ReportEntry {
  index: number
  user: unknown
  errors: RowError[]
}

/** A field-level change, for dry-run previews and undo conflicts. Secret values are never shown. */
export interface FieldChange {
  field: string
  before: unknown
  after: unknown
}

export interface UserDiff {
  index: number
  email: string
  user_id: string
  action: 'insert' | 'update'
  changes: FieldChange[]
}

/**
 * The one place a report line is made from a row, for every stage that finds errors (validation, duplicates in the
 * file, conflicts with the store, commit): the user as given with its secrets redacted, and messages from which
 * every secret string of the row is scrubbed, whichever rule wrote them. What leaves the engine (the journal's chunk
 * records, the error report and everything read from it) is made here.
 */
export function reportEntry(index: number, raw: unknown, errors: readonly RowError[]): ReportEntry {
  const secrets = secretStrings(raw)
  return {
    index,
    user: redactSecrets(raw),
    errors: errors.map((error) => ({ ...error, message: scrubText(error.message, secrets) })),
  }
}
