import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, expect } from 'vitest'
import { type FileUserStore, openFileUserStore } from '../../src/adapters/store/file-user-store.ts'
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

type StoreOptions = Parameters<typeof openFileUserStore>[1]

/**
 * The set-up every FileUserStore test file shares: a temp folder per test, and each store opened on it closed
 * before the folder is removed after the test. `defaults`: the options every open gets, unless a call overrides them.
 */
export function useStoreFolder(defaults: StoreOptions = {}) {
  let dir = ''
  const opened: FileUserStore[] = []
  beforeEach(async () => {
    dir = await tempDir()
  })
  afterEach(async () => {
    for (const store of opened.splice(0)) await store.close()
    await removeDir(dir)
  })
  async function openStore(options: StoreOptions = {}): Promise<FileUserStore> {
    const store = await openFileUserStore(dir, { ...defaults, ...options })
    opened.push(store)
    return store
  }
  return {
    /** This test's folder. */
    get dir(): string {
      return dir
    },
    openStore,
    async reopen(store: FileUserStore): Promise<FileUserStore> {
      await store.close()
      return openStore()
    },
    /** Opens the store, applies `work`, closes it: one "process lifetime". */
    async session(work: (store: FileUserStore) => Promise<unknown>): Promise<void> {
      const store = await openStore()
      await work(store)
      await store.close()
    },
  }
}
