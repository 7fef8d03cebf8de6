import { importRowSchema } from './import-row.ts'

/**
 * Column labels → profile paths, so that a file Roster (or Auth0's extension) exported re-imports as-is: the
 * bulk profile update workflow is export → edit → import with upsert, and Auth0 itself rejects its own labels.
 */

/** The User Import / Export Extension's eleven default fields, exactly (`client/reducers/export.js`). */
export const defaultExportFields = [
  { name: 'user_id', export_as: 'Id' },
  { name: 'given_name', export_as: 'Given Name' },
  { name: 'family_name', export_as: 'Family Name' },
  { name: 'nickname', export_as: 'Nickname' },
  { name: 'name', export_as: 'Name' },
  { name: 'email', export_as: 'Email' },
  { name: 'email_verified', export_as: 'Email Verified' },
  { name: 'picture', export_as: 'Picture' },
  { name: 'identities[0].connection', export_as: 'Connection' },
  { name: 'created_at', export_as: 'Created At' },
  { name: 'updated_at', export_as: 'Updated At' },
] as const

/** Top-level keys of Auth0's import schema (from the schema itself). A label may never shadow one of these. */
export const importableFields: readonly string[] = Object.keys(importRowSchema.shape)

/**
 * Exported but not importable: values the directory computes. They are ignored on import (and listed on the
 * job) rather than failing every row, which is what makes an unedited export re-import.
 */
const readOnlyRoots = [
  'created_at',
  'updated_at',
  'identities',
  'last_login',
  'last_ip',
  'last_password_reset',
  'logins_count',
  'multifactor',
  'multifactor_last_modified',
  'blocked_for',
  'guardian_authenticators',
  'tenant',
]

export function isReadOnlyPath(path: string): boolean {
  const root = path.split(/[.[]/, 1)[0] ?? path
  return readOnlyRoots.includes(root)
}

export function isImportableField(key: string): boolean {
  return importableFields.includes(key)
}

/** The built-in label table, extended by labels that earlier exports recorded (`Plan` → `user_metadata.plan`). */
export function labelTable(recorded: Readonly<Record<string, string>>): Map<string, string> {
  const table = new Map<string, string>()
  for (const [label, path] of Object.entries(recorded)) {
    if (!isImportableField(label)) table.set(label, path)
  }
  for (const field of defaultExportFields) table.set(field.export_as, field.name)
  return table
}
