import { z } from 'zod'
import { AppError } from '../../errors.ts'
import { defaultExportFields, isImportableField } from '../import/export-labels.ts'
import { getPath, type PathSegment, parsePath } from './field-path.ts'

/** One requested column, in Auth0's shape (`fields[{name, export_as}]`, each at most 100 characters). */
export const exportFieldSchema = z.object({
  name: z.string().min(1).max(100),
  export_as: z.string().min(1).max(100).optional(),
})
export type ExportField = z.infer<typeof exportFieldSchema>

/**
 * What an export writes when no fields are named: every profile field that re-imports (secrets excepted), plus
 * the two dates a person expects to see (ignored on re-import). Backups use it, so a backup re-imports with
 * `import --upsert` — without passwords, which are never exported.
 */
/** The profile fields a stored user may lack (every user has an id, an email, `email_verified` and dates). */
export const optionalProfileRoots = [
  'username',
  'phone_number',
  'phone_verified',
  'given_name',
  'family_name',
  'name',
  'nickname',
  'picture',
  'blocked',
  'app_metadata',
  'user_metadata',
] as const
const fullProfileRoots = [
  'user_id',
  'email',
  'email_verified',
  ...optionalProfileRoots,
  'created_at',
  'updated_at',
] as const
export const fullProfileFields: readonly ExportField[] = fullProfileRoots.map((name) => ({ name }))

/** Profile fields an export may name (Auth0's "export" flag). Secrets are not among them, ever. */
const exportableRoots: readonly string[] = [
  ...fullProfileRoots,
  'identities',
  'last_login',
  'last_ip',
  'logins_count',
]
const secretRoots = ['password_hash', 'custom_password_hash', 'mfa_factors']

/** "Add default fields": the extension's eleven, with their labels. */
export const defaultFields: readonly ExportField[] = defaultExportFields.map((field) => ({ ...field }))

export interface Column {
  field: ExportField
  /** The JSON key and CSV header: `export_as`, or the path itself. */
  label: string
  segments: PathSegment[]
}

/**
 * Checks requested fields and turns them into columns. Refuses secrets, unknown roots (a typo would otherwise
 * export an empty column), malformed paths, two columns with one label, and a label that would re-import as a
 * different field than it holds (`user_metadata.email` exported as `email`).
 */
export function resolveColumns(fields: readonly ExportField[]): Column[] {
  if (fields.length === 0) throw new AppError('invalid_request', 'Name at least one field to export.')
  const labels = new Set<string>()
  return fields.map((field) => {
    const segments = parsePath(field.name)
    const root = segments?.[0]
    if (!segments || typeof root !== 'string') {
      throw new AppError(
        'invalid_request',
        `"${field.name}" is not a field path (like user_metadata.plan or identities[0].connection).`,
      )
    }
    if (secretRoots.includes(root)) {
      throw new AppError(
        'invalid_request',
        `${field.name} is never exported: password hashes and MFA secrets stay in the store.`,
      )
    }
    if (!exportableRoots.includes(root)) {
      throw new AppError(
        'invalid_request',
        `Unknown field ${field.name}. Exportable fields: ${exportableRoots.join(', ')}.`,
      )
    }
    const label = field.export_as ?? field.name
    if (labels.has(label))
      throw new AppError('invalid_request', `Two fields are exported as "${label}": rename one.`)
    if (
      label !== field.name &&
      (isImportableField(label) || defaultFields.some((d) => d.export_as === label && d.name !== field.name))
    ) {
      throw new AppError(
        'invalid_request',
        `${field.name} cannot be exported as "${label}": that is the name of another field, so the file would not re-import.`,
      )
    }
    labels.add(label)
    return { field, label, segments }
  })
}

/** The values of one user's columns (undefined where the user has none), from Auth0's view of the user. */
export function columnValues(profile: Record<string, unknown>, columns: readonly Column[]): unknown[] {
  return columns.map((column) => getPath(profile, column.segments))
}

/** Labels worth remembering so the file re-imports: those that differ from their path. */
export function labelsToRecord(columns: readonly Column[]): Record<string, string> {
  return Object.fromEntries(
    columns.filter((c) => c.label !== c.field.name).map((c) => [c.label, c.field.name]),
  )
}
