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
