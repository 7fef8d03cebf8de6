import { describe, expect, it } from 'vitest'
import type { ImportRow } from '../../src/domain/import/import-row.ts'
import { settleLabels } from '../../src/domain/import/label-disagreements.ts'
import type { PlannedRow } from '../../src/domain/import/plan-chunk.ts'
import type { StoredUser } from '../../src/domain/users/user.ts'

/** `family_name` exported as Doe, `Family Name` given beside it: which one did the person edit? */
const planned = (byName: string, byLabel: string): PlannedRow => ({
  index: 0,
  row: { email: 'a@example.com', family_name: byName } as ImportRow,
  disagreements: [{ field: 'family_name', label: 'Family Name' }],
  labelled: { email: 'a@example.com', family_name: byLabel } as ImportRow,
})
const stored = { user_id: 'auth0|1', email: 'a@example.com', family_name: 'Doe' } as StoredUser

describe('settleLabels', () => {
  it('keeps the label when the field still holds the stored value', () => {
    expect(settleLabels(planned('Doe', 'Smith'), stored)).toEqual({
      row: { email: 'a@example.com', family_name: 'Smith' },
      errors: [],
    })
  })

  it('keeps the field when the label still holds the stored value', () => {
    expect(settleLabels(planned('Smith', 'Doe'), stored).row.family_name).toBe('Smith')
  })

  it('fails the row naming both when both differ from the stored value', () => {
    const { errors } = settleLabels(planned('Roe', 'Smith'), stored)
    expect(errors).toEqual([
      {
        code: 'NOT_PASSED',
        path: 'family_name',
        message:
          'Error in family_name property - Given twice with different values: "Family Name" is "Smith" and ' +
          '"family_name" is "Roe". Keep the one you mean and remove the other.',
      },
    ])
  })

  it('fails the row when there is no stored user to tell by', () => {
    expect(settleLabels(planned('Roe', 'Smith'), undefined).errors).toHaveLength(1)
  })
})
