/**
 * Deterministic, realistic users for the benchmark: the same `n` always gives the same user, so two runs compare
 * like with like. The field mix is that of the files Auth0 tenants export and re-import: unicode names, metadata,
 * about 10% bcrypt `password_hash`, a few `custom_password_hash` (md5/sha256), usernames, blocked users, roles.
 */
import { createHash } from 'node:crypto'
import { cp, mkdir, open, readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { syncDirectory, syncFile } from '../../src/adapters/store/durable-fs.ts'
import { snapshotLine } from '../../src/adapters/store/store-files.ts'
import { loadConfig } from '../../src/config.ts'
import type { StoredUser } from '../../src/domain/users/user.ts'
import { silentLogger } from '../../src/logger.ts'
import { openRoster } from '../../src/roster.ts'

/** [display form, ASCII form for emails and usernames]. */
const given: [string, string][] = [
  ['Amélie', 'amelie'],
  ['Ben', 'ben'],
  ['Chiara', 'chiara'],
  ['Dmitri', 'dmitri'],
  ['Eun-ji', 'eunji'],
  ['Farah', 'farah'],
  ['Gustavo', 'gustavo'],
  ['Hana', 'hana'],
  ['Ivo', 'ivo'],
  ['Jun', 'jun'],
  ['Zoë', 'zoe'],
  ['Łukasz', 'lukasz'],
  ['Søren', 'soren'],
  ['Nguyễn', 'nguyen'],
  ['Ayşe', 'ayse'],
  ['Мария', 'maria'],
  ['美咲', 'misaki'],
]
const family: [string, string][] = [
  ['Okafor', 'okafor'],
  ['Lindqvist', 'lindqvist'],
  ['Moreau', 'moreau'],
  ['Nakamura', 'nakamura'],
  ['Petrov', 'petrov'],
  ['Quispe', 'quispe'],
  ['Rossi', 'rossi'],
  ['Singh', 'singh'],
  ['Tanaka', 'tanaka'],
  ['Müller', 'muller'],
  ['García Márquez', 'garcia'],
  ['O’Brien', 'obrien'],
  ['Ødegård', 'odegard'],
  ['Иванова', 'ivanova'],
  ['高橋', 'takahashi'],
]
const domains = ['example.com', 'example.org', 'mail.example.net', 'corp.example.co.uk']
const locales = ['en-GB', 'en-US', 'de-DE', 'fr-FR', 'ja-JP', 'pt-BR', 'pl-PL']
const plans = ['free', 'pro', 'team', 'enterprise']
const bcrypt = '$2b$10$C9hB01.YxRSTcn/ZOOo4j.TW7xCKKFKBSF.C7E0xiUwumqIDqWUXG'

export type UserRow = Record<string, unknown>

/** A deterministic pseudo-random number in [0, 1) for (n, salt): spreads the field mix without a shared RNG state. */
function unit(n: number, salt: number): number {
  let x = (Math.imul(n | 0, 0x9e3779b1) ^ Math.imul(salt, 0x85ebca6b)) >>> 0
  x = Math.imul(x ^ (x >>> 16), 0x45d9f3b) >>> 0
  x = (x ^ (x >>> 16)) >>> 0
  return x / 4294967296
}

function pick<T>(list: readonly T[], n: number, salt: number): T {
  return list[Math.floor(unit(n, salt) * list.length)] as T
}

/** Salted md5 (hex) or sha256 (base64) of a deterministic password: the kinds migrations from legacy stores carry. */
function customHash(n: number): Record<string, unknown> {
  const salt = `s${n.toString(36)}`
  if (n % 2 === 0) {
    const value = createHash('md5').update(`${salt}pw${n}`).digest('hex')
    return { algorithm: 'md5', hash: { value, encoding: 'hex' }, salt: { value: salt, position: 'prefix' } }
  }
  const value = createHash('sha256').update(`pw${n}${salt}`).digest('base64')
  return {
    algorithm: 'sha256',
    hash: { value, encoding: 'base64' },
    salt: { value: salt, position: 'suffix' },
  }
}

/** User `n` as a line of an Auth0 import file. */
export function userRow(n: number): UserRow {
  const [g, gAscii] = pick(given, n, 1)
  const [f, fAscii] = pick(family, n, 2)
  const row: UserRow = {
    email: `${gAscii}.${fAscii}.${n}@${pick(domains, n, 3)}`,
    email_verified: unit(n, 4) < 0.7,
    given_name: g,
    family_name: f,
  }
  if (unit(n, 16) < 0.5) row.name = `${g} ${f}`
  if (unit(n, 5) < 0.5) row.user_id = n.toString(16).padStart(24, '0')
  // Usernames: Auth0's default limit is 15 characters.
  if (unit(n, 6) < 0.3) row.username = `${gAscii.slice(0, 6)}_${n.toString(36)}`
  if (unit(n, 7) < 0.4) row.nickname = gAscii
  if (unit(n, 8) < 0.2) row.picture = `https://avatars.example.com/${n.toString(36)}.png`
  if (unit(n, 9) < 0.02) row.blocked = true
  const roles = unit(n, 10) < 0.05 ? ['admin', 'member'] : ['member']
  row.app_metadata = { roles, plan: pick(plans, n, 11), ...(n % 7 === 0 ? { legacy_id: n * 31 } : {}) }
  row.user_metadata = {
    locale: pick(locales, n, 12),
    ...(unit(n, 13) < 0.3 ? { preferences: { theme: 'dark', newsletter: unit(n, 14) < 0.5 } } : {}),
  }
  const secret = unit(n, 15)
  if (secret < 0.1) row.password_hash = bcrypt
  else if (secret < 0.13) row.custom_password_hash = customHash(n)
  return row
}

/** An import file of at most `maxBytes` (JSON array), starting at user `from`: its text and how many users. */
export function importFile(from: number, maxBytes = 500_000): { text: string; users: number; next: number } {
  const lines: string[] = []
  let bytes = 2
  let n = from
  for (;;) {
    const line = JSON.stringify(userRow(n))
    if (bytes + Buffer.byteLength(line) + 1 > maxBytes) break
    bytes += Buffer.byteLength(line) + 1
    lines.push(line)
    n++
  }
  return { text: `[${lines.join(',')}]`, users: lines.length, next: n }
}

/** `users` users in one JSON array, as a single large file (for the CLI's `import --split`). */
export function largeFile(from: number, users: number): string {
  const lines: string[] = []
  for (let n = from; n < from + users; n++) lines.push(JSON.stringify(userRow(n)))
  return `[\n${lines.join(',\n')}\n]\n`
}

/** Tenant users are numbered from here, so import files (numbered from 0) never collide with them. */
export const tenantBase = 100_000_000

/** Tenant user `n` as the store keeps it. */
export function storedUser(n: number, connectionId: string): StoredUser {
  const { user_id, ...rest } = userRow(tenantBase + n)
  const id = typeof user_id === 'string' ? user_id : (tenantBase + n).toString(16).padStart(24, '0')
  return {
    ...(rest as Omit<StoredUser, 'user_id' | 'connection_id' | 'identities' | 'rev'>),
    user_id: `auth0|${id}`,
    connection_id: connectionId,
    identities: [
      { connection: 'Username-Password-Authentication', provider: 'auth0', user_id: id, isSocial: false },
    ],
    created_at: '2025-03-14T09:26:53.589Z',
    updated_at: '2026-01-07T16:02:11.000Z',
    rev: 0,
  }
}

/** Writes a tenant of `count` users straight into a user-store snapshot (much faster than importing them). */
export async function writeTenant(usersDir: string, connectionId: string, count: number): Promise<void> {
  await mkdir(usersDir, { recursive: true })
  const handle = await open(join(usersDir, 'snapshot.jsonl'), 'w')
  try {
    await handle.writeFile(
      `${JSON.stringify({ format: 'roster-users', version: 2, seq: 0, journal: 1, users: count })}\n`,
    )
    for (let start = 0; start < count; start += 10_000) {
      let text = ''
      for (let n = start; n < Math.min(count, start + 10_000); n++)
        text += snapshotLine(storedUser(n, connectionId))
      await handle.writeFile(text)
    }
    await handle.sync()
  } finally {
    await handle.close()
  }
}

export interface TenantStore {
  /** The embedded store; on PostgreSQL, the process's own folder (its lock and job-file cache). */
  storeDir: string
  /** `--store postgres`: the tenant's database (a fresh copy per scenario). */
  databaseUrl?: string
  /** The default connection's id. */
  connection: string
  users: number
}

/**
 * A Roster store at `storeDir` with a tenant of `users` users: Roster creates the store (catalog, default
 * connection), then the snapshot is written directly.
 */
export async function makeTenantStore(storeDir: string, users: number): Promise<TenantStore> {
  const roster = await openRoster(loadConfig({ STORE_DIR: storeDir }), { logger: silentLogger })
  const connection = roster.engine.listConnections()[0]?.id
  await roster.close()
  if (connection === undefined) throw new Error('a new store has no default connection')
  if (users > 0) await writeTenant(join(storeDir, 'users'), connection, users)
  return { storeDir, connection, users }
}

/**
 * A copy of a prepared store (a fresh copy per scenario: imports and exports change it), on disk before it is
 * used: the copy of a 1M-user store is ~0.8 GB of dirty pages, whose writeback would otherwise compete with the
 * fsyncs of the runs measured next (P1's floor took twice as long at 1M users as at 0 in one run).
 */
export async function copyStore(from: TenantStore, storeDir: string): Promise<TenantStore> {
  await cp(from.storeDir, storeDir, { recursive: true })
  await syncTree(storeDir)
  return { ...from, storeDir }
}

/** fsyncs every file under `dir`, and the folders. */
async function syncTree(dir: string): Promise<void> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) await syncTree(path)
    else if (entry.isFile()) await syncFile(path)
  }
  await syncDirectory(dir)
}
