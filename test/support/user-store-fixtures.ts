import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect } from 'vitest'
import type { UserStore } from '../../src/adapters/store/sync-user-store.ts'
import type { StoredUser } from '../../src/domain/users/user.ts'
import type { CommitBatch } from '../../src/engine/ports.ts'
import { AppError } from '../../src/errors.ts'

/** Builders and probes shared by the FileUserStore tests. */

export const conA = 'con_AAAAAAAAAAAAAAAA'
export const conB = 'con_BBBBBBBBBBBBBBBB'

export type NewUser = Omit<StoredUser, 'rev'>

export function user(n: number, overrides: Partial<NewUser> = {}): NewUser {
  const id = n.toString(16).padStart(24, '0')
  return {
    user_id: `auth0|${id}`,
    connection_id: conA,
    email: `user${n}@example.com`,
    email_verified: n % 2 === 0,
    username: `user${n}`,
    given_name: 'Zoë',
    family_name: `Number ${n}`,
    user_metadata: { locale: 'fr-FR', n },
    identities: [
      { connection: 'Username-Password-Authentication', provider: 'auth0', user_id: id, isSocial: false },
    ],
    created_at: '2026-01-02T03:04:05.000Z',
    updated_at: '2026-01-02T03:04:05.000Z',
    ...overrides,
  }
}

export function users(from: number, count: number, overrides: Partial<NewUser> = {}): NewUser[] {
  return Array.from({ length: count }, (_, i) => user(from + i, overrides))
}

export function batch(jobId: string, chunk: number, change: Partial<CommitBatch> = {}): CommitBatch {
  return { jobId, chunk, puts: [], deletes: [], meta: { chunk }, ...change }
}

export async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'roster-users-'))
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true })
}

/** Every user the store holds, in scan order: what "the same users" means after a reload. */
export function allUsers(store: UserStore): StoredUser[] {
  return [...store.scan()]
}

export async function filesIn(dir: string): Promise<string[]> {
  return (await readdir(dir)).sort()
}

/** The seq of every record in a journal file, in file order. */
export async function journalSeqs(path: string): Promise<number[]> {
  const text = await readFile(path, 'utf8')
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => (JSON.parse(line) as { seq: number }).seq)
}

export async function rejection(promise: Promise<unknown>): Promise<AppError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(AppError)
  return error as AppError
}
