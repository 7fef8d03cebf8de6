import type { Connection } from '../connections/connection.ts'
import { providerOf } from '../connections/connection.ts'
import type { UserPut } from '../users/encoded-user.ts'
import { REDACTED, redactSecrets } from '../users/secrets.ts'
import type { StoredUser } from '../users/user.ts'
import type { ImportRow } from './import-row.ts'
import { settleLabels } from './label-disagreements.ts'
import { jsonEqual, mergePatch } from './merge-patch.ts'
import { encodedNewUser, type NewUserFrame, type NewUserParts, newUserFrame } from './new-user-json.ts'
import type { MetadataField } from './normalize-row.ts'
import type { FieldChange, ReportEntry, UserDiff } from './report.ts'
import type { RowError } from './validate-row.ts'

/** What the planner may ask of existing users. Answers must reflect every earlier chunk's writes. */
export interface UserLookup {
  getById(userId: string): StoredUser | undefined
  findByEmail(connectionId: string, email: string): StoredUser | undefined
  findByUsername(connectionId: string, username: string): StoredUser | undefined
}

export interface PlannedRow {
  /** 0-based position in the file. */
  index: number
  row: ImportRow
  /** Metadata the row gives key by key (dotted columns): merged into the user's, never replacing it. */
  partialMetadata?: readonly MetadataField[]
  /** Fields the row gives twice, by name and by label, with different values (see `normalizeRow`). */
  disagreements?: readonly { field: string; label: string }[]
  /** The row with the labels' values in those fields, validated. */
  labelled?: ImportRow
  /**
   * The row's keys as written, for a row whose `row` is parsed only when read (one checked on the import worker
   * thread): the planner looks its user up without parsing it.
   */
  keys?: RowKeys
  /** Its new user's JSON as far as the row decides it (new-user-json.ts): an insert is written from it. */
  newUser?: NewUserParts
}

/** What the planner looks a row's user up by, as the row gives them (not lower-cased). */
export interface RowKeys {
  email: string
  user_id?: string | undefined
  username?: string | undefined
}

export interface PlanOptions {
  upsert: boolean
  merge: boolean
  /** ISO timestamp written to created_at / updated_at. */
  now: string
  /** A fresh database user id (without the `auth0|` prefix) for rows that bring none. */
  newUserId: () => string
  /** How many field-level diffs to keep (dry-run previews show a sample). Defaults to none. */
  diffLimit?: number
  /**
   * Put new users whose rows bring their JSON parts (`PlannedRow.newUser`) as that JSON (EncodedUser), not as
   * objects: for a commit to a store, never for a plan whose users are read (diffs, an Auth0 tenant's jobs).
   */
  encodeNewUsers?: boolean
}

/** Prior state of a user this chunk writes: `null` for an insert. Undo restores it. */
export interface PreImage {
  user_id: string
  before: StoredUser | null
}

export interface ChunkTally {
  inserted: number
  updated: number
  unchanged: number
  failed: number
}

export interface ChunkPlan {
  /** Objects, and EncodedUsers when asked (`encodeNewUsers`). */
  puts: UserPut[]
  preImages: PreImage[]
  errors: ReportEntry[]
  tally: ChunkTally
  diffs: UserDiff[]
}

/** Fields an upsert may change (Auth0 §1.3). email, user_id, username, password_hash and blocked never change. */
export const upsertableFields = [
  'email_verified',
  'given_name',
  'family_name',
  'name',
  'nickname',
  'picture',
  'phone_number',
  'phone_verified',
  'custom_password_hash',
  'mfa_factors',
  'app_metadata',
  'user_metadata',
] as const
const secretFields = new Set(['custom_password_hash', 'mfa_factors', 'password_hash'])

/** A plan of nothing, to add rows' outcomes to. */
export function emptyChunkPlan(): ChunkPlan {
  return {
    puts: [],
    preImages: [],
    errors: [],
    tally: { inserted: 0, updated: 0, unchanged: 0, failed: 0 },
    diffs: [],
  }
}

/**
 * Plans one chunk of valid rows against the users that exist now: inserts, updates, unchanged rows and per-user
 * failures, with Auth0's upsert rules. Pure: the engine applies `puts` in one atomic store commit.
 */
export function planChunk(
  rows: readonly PlannedRow[],
  connection: Connection,
  lookup: UserLookup,
  options: PlanOptions,
): ChunkPlan {
  const plan = emptyChunkPlan()
  const provider = providerOf(connection)
  const frame: NewUserFrame | undefined =
    options.encodeNewUsers && !((options.diffLimit ?? 0) > 0)
      ? newUserFrame(connection, provider, options.now)
      : undefined
  for (const planned of rows) {
    const { index, partialMetadata = [] } = planned
    // email, user_id and username never disagree with a label here (normalizeRow fails such rows).
    const keys: RowKeys = planned.keys ?? planned.row
    const email = keys.email.toLowerCase()
    const userId = keys.user_id === undefined ? undefined : `${provider}|${keys.user_id}`
    const byEmail = lookup.findByEmail(connection.id, email)
    const byId = userId === undefined ? undefined : lookup.getById(userId)
    const username = keys.username?.toLowerCase()
    const byUsername = username === undefined ? undefined : lookup.findByUsername(connection.id, username)
    const conflict = options.upsert
      ? upsertConflict(byEmail, byId, byUsername)
      : existing(byEmail, byId, byUsername)
    if (!conflict && !byEmail && frame && planned.newUser && !planned.disagreements) {
      // A new user from the parts the import worker wrote: the row itself is not even parsed here.
      const bareId = keys.user_id ?? options.newUserId()
      const inserted = encodedNewUser(frame, planned.newUser, bareId, { email, username })
      plan.puts.push(inserted)
      plan.preImages.push({ user_id: inserted.user_id, before: null })
      plan.tally.inserted++
      continue
    }
    // A conflict fails the row without reading it (a row parsed only when read stays unparsed).
    const settled = conflict ? { row: undefined, errors: [conflict] } : settleLabels(planned, byEmail)
    if (settled.row === undefined || settled.errors.length > 0) {
      // `user` is filled by the caller, which holds the row as the person wrote it.
      plan.errors.push({ index, user: undefined, errors: settled.errors })
      plan.tally.failed++
      continue
    }
    const row = settled.row
    if (byEmail) {
      const after = applyUpsert(byEmail, row, options, partialMetadata)
      if (after === null) {
        plan.tally.updated++
        plan.tally.unchanged++
        continue
      }
      plan.puts.push(after)
      plan.preImages.push({ user_id: byEmail.user_id, before: byEmail })
      plan.tally.updated++
      if (plan.diffs.length < (options.diffLimit ?? 0)) plan.diffs.push(diff(index, 'update', byEmail, after))
      continue
    }
    const inserted = newUser(row, connection, provider, userId, options)
    plan.puts.push(inserted)
    plan.preImages.push({ user_id: inserted.user_id, before: null })
    plan.tally.inserted++
    if (plan.diffs.length < (options.diffLimit ?? 0))
      plan.diffs.push(diff(index, 'insert', undefined, inserted))
  }
  return plan
}

function existing(byEmail?: StoredUser, byId?: StoredUser, byUsername?: StoredUser): RowError | null {
  const path = byEmail ? 'email' : byId ? 'user_id' : byUsername ? 'username' : undefined
  if (path === undefined) return null
  return { code: 'DUPLICATED_USER', message: 'The user already exist and upsert parameter is false', path }
}

/** Upsert matches on email; a user_id or username that belongs to someone else is a conflict, never a merge. */
function upsertConflict(byEmail?: StoredUser, byId?: StoredUser, byUsername?: StoredUser): RowError | null {
  if (byId && byId !== byEmail) {
    return byEmail
      ? {
          code: 'CONFLICT',
          path: 'user_id',
          message: `The user_id ${byId.user_id} belongs to another user (${byId.email}). Remove user_id from this row or fix it.`,
        }
      : {
          code: 'CONFLICT_EMAIL',
          path: 'email',
          message: `The user ${byId.user_id} exists with email ${byId.email}. Upsert matches users by email and cannot change it.`,
        }
  }
  if (byUsername && byUsername !== byEmail) {
    return {
      code: 'CONFLICT_USERNAME',
      path: 'username',
      message: `The username ${byUsername.username} belongs to another user (${byUsername.email}).`,
    }
  }
  return null
}

/** The user after an upsert, or null when the row changes nothing (then nothing is written). */
function applyUpsert(
  current: StoredUser,
  row: ImportRow,
  options: PlanOptions,
  partialMetadata: readonly MetadataField[],
): Omit<StoredUser, 'rev'> | null {
  const { rev: _rev, ...next } = current
  const target = next as Record<string, unknown>
  let changed = false
  for (const field of upsertableFields) {
    if (row[field] === undefined) continue
    const isMetadata = field === 'app_metadata' || field === 'user_metadata'
    const value =
      isMetadata && (options.merge || partialMetadata.includes(field))
        ? mergePatch(current[field] ?? {}, row[field])
        : row[field]
    if (jsonEqual(current[field], value)) continue
    target[field] = value
    changed = true
  }
  if (!changed) return null
  next.updated_at = options.now
  return next
}

/** Row fields `newUser` sets itself (normalized) instead of copying them as written. */
const derivedFields: ReadonlySet<string> = new Set([
  'email',
  'email_verified',
  'user_id',
  'username',
  'password_hash',
])

/**
 * The stored user an inserted row becomes. Also how the bench's import floor makes its users (bench/support/floor.ts):
 * a faster way found here is the floor's too.
 */
export function newUser(
  row: ImportRow,
  connection: Connection,
  provider: string,
  userId: string | undefined,
  options: PlanOptions,
): Omit<StoredUser, 'rev'> {
  const email = row.email.toLowerCase()
  const bareId = userId === undefined ? options.newUserId() : userId.slice(provider.length + 1)
  const at = email.indexOf('@')
  const user: Omit<StoredUser, 'rev'> = {
    user_id: `${provider}|${bareId}`,
    connection_id: connection.id,
    email,
    email_verified: row.email_verified ?? false,
    // Auth0's normalized profile: name defaults to the email, nickname to its local part.
    name: email,
    nickname: at === -1 ? email : email.slice(0, at),
    identities: [{ connection: connection.name, provider, user_id: bareId, isSocial: false }],
    created_at: options.now,
    updated_at: options.now,
  }
  // The row's other defined fields, in its order (a loop: a rest-spread and a filtered copy per user cost more).
  const target = user as Record<string, unknown>
  const source = row as Record<string, unknown>
  for (const key of Object.keys(source)) {
    const value = source[key]
    if (value !== undefined && !derivedFields.has(key)) target[key] = value
  }
  if (row.username !== undefined) user.username = row.username.toLowerCase()
  if (row.password_hash !== undefined) user.password_hash = row.password_hash
  return user
}

function shownValue(field: string, value: unknown): unknown {
  if (value === undefined) return undefined
  if (secretFields.has(field)) return REDACTED
  return (redactSecrets({ [field]: value }) as Record<string, unknown>)[field]
}

const diffFields = ['email', 'user_id', 'username', 'blocked', ...upsertableFields] as const

function diff(
  index: number,
  action: UserDiff['action'],
  before: StoredUser | undefined,
  after: Omit<StoredUser, 'rev'>,
): UserDiff {
  const changes: FieldChange[] = []
  for (const field of diffFields) {
    const a = before?.[field]
    const b = after[field]
    if (jsonEqual(a, b)) continue
    // The one redaction, keyed by the field: a secret field is "*****" whole, and metadata keeps its shape with
    // its secret-named keys (`user_metadata.password`, `app_metadata.api_key`) hidden.
    changes.push({ field, before: shownValue(field, a), after: shownValue(field, b) })
  }
  return { index, email: after.email, user_id: after.user_id, action, changes }
}
