import type { StoredUser } from '../users/user.ts'
import type { ImportRow } from './import-row.ts'
import { jsonEqual } from './merge-patch.ts'
import type { PlannedRow } from './plan-chunk.ts'
import type { RowError } from './validate-row.ts'

/**
 * A field given twice in one row, by its own name and by an export label, with different values: what the
 * Dashboard guide's bulk update produces on a full export (`family_name` exported, `Family Name` added). Neither
 * value is dropped silently: the stored user tells which one the person edited, and when it cannot, the row fails.
 */
export interface LabelDisagreement {
  field: string
  label: string
  labelValue: unknown
}

/** A label and its field with different values, when Roster cannot tell which one the person meant. */
export function givenTwice(field: string, label: string, labelValue: unknown, fieldValue: unknown): RowError {
  return {
    code: 'NOT_PASSED',
    path: field,
    message:
      `Error in ${field} property - Given twice with different values: "${label}" is ${JSON.stringify(labelValue)} ` +
      `and "${field}" is ${JSON.stringify(fieldValue)}. Keep the one you mean and remove the other.`,
  }
}

/**
 * A field given by name and by label with different values: the one that differs from the stored user is the
 * edit, and is kept. With no stored user, or both differing from it, nobody can tell: the row fails naming both.
 */
export function settleLabels(
  planned: PlannedRow,
  stored: StoredUser | undefined,
): { row: ImportRow; errors: RowError[] } {
  const { disagreements, labelled } = planned
  if (!disagreements || !labelled) return { row: planned.row, errors: [] }
  const row: Record<string, unknown> = { ...planned.row }
  const errors: RowError[] = []
  for (const { field, label } of disagreements) {
    const byName = (planned.row as Record<string, unknown>)[field]
    const byLabel = (labelled as Record<string, unknown>)[field]
    const before = stored === undefined ? undefined : (stored as Record<string, unknown>)[field]
    if (stored !== undefined && jsonEqual(before, byName)) row[field] = byLabel
    else if (stored !== undefined && jsonEqual(before, byLabel)) row[field] = byName
    else errors.push(givenTwice(field, label, byLabel, byName))
  }
  return { row: row as ImportRow, errors }
}
