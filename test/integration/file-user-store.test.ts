import { open, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import type { FileUserStore } from '../../src/adapters/store/file-user-store.ts'
import type { AppendHandle } from '../../src/adapters/store/journal-writer.ts'
import type { StoredUser } from '../../src/domain/users/user.ts'
import { AppError } from '../../src/errors.ts'
import {
  allUsers,
  batch,
  conA,
  conB,
  filesIn,
  journalSeqs,
  rejection,
  user,
  users,
  useStoreFolder,
} from '../support/user-store-fixtures.ts'

const folder = useStoreFolder()
const { openStore, reopen, session } = folder

describe('FileUserStore commits and reads', () => {
  it('gives back the same users, in the same order, after a reopen', async () => {
    const store = await openStore()
    await store.commit(batch('job_1', 0, { puts: users(1, 50) }))
    await store.commit(
      batch('job_1', 1, { puts: [user(7, { given_name: 'Seven' })], deletes: [user(3).user_id] }),
    )
    const before = allUsers(store)

    const reopened = await reopen(store)

    expect(before).toHaveLength(49)
    expect(allUsers(reopened)).toEqual(before)
    expect(reopened.getById(user(7).user_id)).toMatchObject({ given_name: 'Seven', rev: 2 })
  })

  it('stamps each put with the commit seq as rev and resolves with the record', async () => {
    const store = await openStore()
    const first = await store.commit(batch('job_1', 0, { puts: [user(1)] }))
    const second = await store.commit(batch('job_1', 1, { puts: [user(2)] }))

    expect([first.seq, second.seq]).toEqual([1, 2])
    expect(store.getById(user(2).user_id)?.rev).toBe(2)
    expect(second.puts[0]).toMatchObject({ user_id: user(2).user_id, rev: 2 })
  })

  it('rejects a batch that is not JSON and changes nothing', async () => {
    const store = await openStore()

    const error = await rejection(store.commit(batch('job_1', 0, { puts: [user(1)], meta: { n: 1n } })))

    expect(error.code).toBe('unexpected')
    expect(store.count()).toBe(0)
    expect((await store.commit(batch('job_1', 0, { puts: [user(1)] }))).seq).toBe(1)
  })

  it('refuses commits once closed', async () => {
    const store = await openStore()
    await store.close()

    expect((await rejection(store.commit(batch('job_1', 0, { puts: [user(1)] })))).code).toBe(
      'store_unavailable',
    )
    expect(store.count()).toBe(0)
  })

  it('shows a commit to reads before it is durable', async () => {
    const store = await openStore()
    const pending = store.commit(batch('job_1', 0, { puts: [user(1)] }))

    expect(store.findByEmail(conA, 'user1@example.com')?.user_id).toBe(user(1).user_id)
    await pending
  })

  it('finds users by their new email and username after an update, and not by the old ones', async () => {
    let store = await openStore()
    await store.commit(batch('job_1', 0, { puts: users(1, 3) }))
    await store.commit(
      batch('job_2', 0, { puts: [user(2, { email: 'renamed@example.com', username: 'renamed' })] }),
    )

    for (const attempt of ['live', 'reopened']) {
      if (attempt === 'reopened') store = await reopen(store)
      expect(store.findByEmail(conA, 'user2@example.com')).toBeUndefined()
      expect(store.findByUsername(conA, 'user2')).toBeUndefined()
      expect(store.findByEmail(conA, 'renamed@example.com')?.user_id).toBe(user(2).user_id)
      expect(store.findByUsername(conA, 'renamed')?.user_id).toBe(user(2).user_id)
    }
  })

  it('forgets a deleted user in every lookup, and ignores deleting an unknown id', async () => {
    let store = await openStore()
    await store.commit(batch('job_1', 0, { puts: users(1, 3) }))
    await store.commit(batch('job_2', 0, { deletes: [user(2).user_id, 'auth0|unknown'] }))

    for (const attempt of ['live', 'reopened']) {
      if (attempt === 'reopened') store = await reopen(store)
      expect(store.getById(user(2).user_id)).toBeUndefined()
      expect(store.findByEmail(conA, 'user2@example.com')).toBeUndefined()
      expect(store.findByUsername(conA, 'user2')).toBeUndefined()
      expect(store.count()).toBe(2)
    }
  })

  it('scopes lookups to their connection', async () => {
    const store = await openStore()
    await store.commit(
      batch('job_1', 0, { puts: [user(1), user(2, { email: 'user1@example.com', connection_id: conB })] }),
    )

    expect(store.findByEmail(conA, 'user1@example.com')?.user_id).toBe(user(1).user_id)
    expect(store.findByEmail(conB, 'user1@example.com')?.user_id).toBe(user(2).user_id)
    expect(store.findByUsername(conB, 'user1')).toBeUndefined()
  })

  it('counts and scans per connection, a user that moves keeping its place in the order', async () => {
    let store = await openStore()
    await store.commit(
      batch('job_1', 0, { puts: [...users(1, 4), ...users(10, 3, { connection_id: conB })] }),
    )
    await store.commit(
      batch('job_2', 0, { puts: [user(2, { connection_id: conB })], deletes: [user(11).user_id] }),
    )

    for (const attempt of ['live', 'reopened']) {
      if (attempt === 'reopened') store = await reopen(store)
      expect([
        store.count(),
        store.count({ connectionId: conA }),
        store.count({ connectionId: conB }),
      ]).toEqual([6, 3, 3])
      expect(store.count({ connectionId: 'con_none' })).toBe(0)
      expect([...store.scan({ connectionId: conB })].map((u) => u.user_id)).toEqual(
        [2, 10, 12].map((n) => user(n).user_id),
      )
      expect(store.findByEmail(conB, 'user2@example.com')?.user_id).toBe(user(2).user_id)
      expect(store.findByEmail(conA, 'user2@example.com')).toBeUndefined()
    }
  })

  it('keeps a scan to the users of the moment while commits happen between batches', async () => {
    const store = await openStore()
    await store.commit(batch('job_1', 0, { puts: users(1, 100) }))
    const seen: string[] = []
    let index = 0

    for (const u of store.scan()) {
      seen.push(`${u.user_id} ${u.given_name}`)
      index += 1
      if (index % 25 === 0) {
        await store.commit(
          batch('job_2', index, {
            puts: [user(index, { given_name: 'Changed' }), user(1000 + index)],
            deletes: [user(index + 1).user_id],
          }),
        )
      }
    }

    expect(seen).toEqual(users(1, 100).map((u) => `${u.user_id} Zoë`))
    expect(store.count()).toBe(101)
  })
})

describe('FileUserStore commitsOf and journalBytes', () => {
  it('returns a job’s commits in order, also after a reopen', async () => {
    const store = await openStore()
    await store.commit(batch('job_1', 0, { puts: [user(1)], meta: { tally: { inserted: 1 } } }))
    await store.commit(batch('job_2', 0, { puts: [user(2)] }))
    await store.commit(batch('job_1', 1, { deletes: [user(1).user_id], meta: { tally: { deleted: 1 } } }))
    const live = store.commitsOf('job_1')

    const reopened = await reopen(store)

    expect(live.map((record) => [record.seq, record.chunk])).toEqual([
      [1, 0],
      [3, 1],
    ])
    expect(reopened.commitsOf('job_1')).toEqual(live)
    expect(reopened.commitsOf('job_none')).toEqual([])
  })

  it('counts journal bytes across a reopen and starts again at 0 after compaction', async () => {
    const store = await openStore()
    await store.commit(batch('job_1', 0, { puts: users(1, 10) }))
    const bytes = store.journalBytes()
    const reopened = await reopen(store)
    const before = reopened.journalBytes()
    await reopened.compact()

    expect(bytes).toBeGreaterThan(1000)
    expect(before).toBe(bytes)
    expect(reopened.journalBytes()).toBe(0)
  })
})

describe('FileUserStore group commit', () => {
  it('resolves many concurrent commits with fewer syncs than commits, all replayed in order', async () => {
    let syncs = 0
    const store = await openStore({
      openJournal: async (path) => {
        const handle = await open(path, 'a')
        const counted: AppendHandle = {
          write: (buffer, offset, length) => handle.write(buffer, offset, length),
          datasync: () => {
            syncs += 1
            return handle.datasync()
          },
          close: () => handle.close(),
        }
        return counted
      },
    })

    const records = await Promise.all(
      Array.from({ length: 40 }, (_, chunk) => store.commit(batch('job_1', chunk, { puts: [user(chunk)] }))),
    )
    const reopened = await reopen(store)

    expect(records.map((record) => record.seq)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1))
    expect(syncs).toBeLessThan(40)
    expect(await journalSeqs(join(folder.dir, 'journal-1.jsonl'))).toEqual(
      records.map((record) => record.seq),
    )
    expect(allUsers(reopened).map((u) => u.user_id)).toEqual(records.map((record) => record.puts[0]?.user_id))
  })
})

describe('FileUserStore compaction', () => {
  it('keeps the same users and leaves one snapshot and the new journal', async () => {
    const store = await openStore()
    await store.commit(batch('job_1', 0, { puts: users(1, 30) }))
    await store.commit(
      batch('job_1', 1, { puts: [user(5, { email: 'five@example.com' })], deletes: [user(6).user_id] }),
    )
    const before = allUsers(store)

    await store.compact()
    const reopened = await reopen(store)

    expect(await filesIn(folder.dir)).toEqual(['journal-2.jsonl', 'snapshot.jsonl'])
    expect(allUsers(reopened)).toEqual(before)
    expect(reopened.findByEmail(conA, 'five@example.com')?.user_id).toBe(user(5).user_id)
    expect(reopened.commitsOf('job_1')).toEqual([])
  })

  it('writes commits made during compaction to the new journal, where they survive a reopen', async () => {
    const store = await openStore({ snapshotBatchSize: 7 })
    await store.commit(batch('job_1', 0, { puts: users(1, 50) }))

    const compaction = store.compact()
    const during = store.commit(batch('job_2', 0, { puts: [user(100)], deletes: [user(1).user_id] }))
    await Promise.all([compaction, during])
    const after = allUsers(store)
    const reopened = await reopen(store)

    expect(await journalSeqs(join(folder.dir, 'journal-2.jsonl'))).toEqual([2])
    expect(allUsers(reopened)).toEqual(after)
    expect(reopened.getById(user(1).user_id)).toBeUndefined()
    expect(reopened.commitsOf('job_2').map((record) => record.seq)).toEqual([2])
  })

  it('joins a compaction already running instead of starting another', async () => {
    const store = await openStore()
    await store.commit(batch('job_1', 0, { puts: users(1, 5) }))

    const first = store.compact()
    const second = store.compact()
    await Promise.all([first, second])

    expect(second).toBe(first)
    expect(await filesIn(folder.dir)).toEqual(['journal-2.jsonl', 'snapshot.jsonl'])
  })

  it('compacts again on top of an earlier snapshot', async () => {
    const store = await openStore()
    await store.commit(batch('job_1', 0, { puts: users(1, 10) }))
    await store.compact()
    await store.commit(batch('job_2', 0, { puts: users(20, 5), deletes: [user(2).user_id] }))
    await store.compact()
    await store.commit(batch('job_3', 0, { puts: [user(30)] }))
    const before = allUsers(store)

    const reopened = await reopen(store)

    expect(await filesIn(folder.dir)).toEqual(['journal-3.jsonl', 'snapshot.jsonl'])
    expect(allUsers(reopened)).toEqual(before)
    expect((await reopened.commit(batch('job_4', 0, { puts: [user(40)] }))).seq).toBe(4)
  })
})

describe('FileUserStore lazy users and the snapshot format', () => {
  /** Every way a caller reads a user, each compared with what was committed. */
  function expectReads(store: FileUserStore, committed: readonly StoredUser[]): void {
    expect(allUsers(store)).toEqual(committed)
    for (const u of committed) {
      expect(store.getById(u.user_id)).toEqual(u)
      expect(store.findByEmail(u.connection_id, u.email)).toEqual(u)
      if (u.username !== undefined) expect(store.findByUsername(u.connection_id, u.username)).toEqual(u)
    }
    expect(store.count()).toBe(committed.length)
  }

  it('gives back exactly the committed users: live, replayed from the journal, and from a snapshot', async () => {
    const puts = [
      user(1),
      user(2, { username: undefined, user_metadata: { nested: { list: [1, 'two', null, true] } } }),
      user(3, { username: '', blocked: true, app_metadata: {} }),
      user(4, { connection_id: conB, phone_number: '+44 20 7946 0958', password_hash: '$2b$10$abc' }),
    ]
    let store = await openStore()
    const record = await store.commit(batch('job_1', 0, { puts }))
    const committed = record.puts as StoredUser[]

    expectReads(store, committed)
    store = await reopen(store)
    expectReads(store, committed)
    await store.compact()
    store = await reopen(store)
    expectReads(store, committed)
    expect(store.findByUsername(conA, '')?.user_id).toBe(user(3).user_id)
    expect(store.findByUsername(conA, 'user2')).toBeUndefined()
  })

  it('keeps users whose keys need JSON escapes findable, through a snapshot and a reopen', async () => {
    const odd = [
      user(1, {
        user_id: 'auth0|quote"back\\slash',
        email: '"quoted"\\back@example.com',
        username: 'tab\there',
      }),
      user(2, {
        user_id: 'auth0|zoë-😀',
        connection_id: 'con_"odd"\\connection',
        email: 'zoë@exämple.com',
        username: 'line\nbreak\u2028sep',
      }),
      user(3, { user_id: 'auth0|ctl\u0001\u001f', email: 'lone\ud800surrogate@example.com', username: '\\' }),
      // Plain keys that only differ from the odd ones by their escapes.
      user(4, { user_id: 'auth0|quote"backslash', email: 'quoted\\back@example.com', username: 'tab' }),
    ]
    let store = await openStore()
    const committed = (await store.commit(batch('job_1', 0, { puts: odd }))).puts as StoredUser[]
    await store.compact()
    store = await reopen(store)

    expectReads(store, committed)
    expect(store.count({ connectionId: 'con_"odd"\\connection' })).toBe(1)
    expect(store.findByEmail(conA, 'zoë@exämple.com')).toBeUndefined()
    expect(store.findByUsername(conA, 'tab\\there')).toBeUndefined()
    const lines = (await readFile(join(folder.dir, 'snapshot.jsonl'), 'utf8')).split('\n').slice(1, -1)
    expect(lines.map((line) => line.split('\t').length)).toEqual([5, 5, 5, 5])
  })

  it('opens a version 1 snapshot (plain user JSON per line) and writes version 2 when it compacts', async () => {
    const users1 = users(1, 5).map((u, i) => ({ ...u, rev: i + 1 }))
    const header = { format: 'roster-users', version: 1, seq: 5, journal: 1, users: users1.length }
    await writeFile(
      join(folder.dir, 'snapshot.jsonl'),
      [header, ...users1].map((line) => `${JSON.stringify(line)}\n`).join(''),
    )

    let store = await openStore()
    expectReads(store, users1)
    const record = await store.commit(batch('job_1', 0, { puts: [user(2, { given_name: 'Two' })] }))
    expect(record.seq).toBe(6)
    const after = allUsers(store)
    await store.compact()
    store = await reopen(store)

    expect(
      JSON.parse((await readFile(join(folder.dir, 'snapshot.jsonl'), 'utf8')).split('\n')[0] ?? ''),
    ).toEqual({
      ...header,
      version: 2,
      seq: 6,
      journal: 2,
    })
    expectReads(store, after)
    expect(store.getById(user(2).user_id)).toMatchObject({ given_name: 'Two', rev: 6 })
  })

  it('keeps the last of two puts of one user in a commit, also after compaction and a reopen', async () => {
    let store = await openStore()
    await store.commit(batch('job_1', 0, { puts: [user(1), user(2, { given_name: 'First' }), user(2)] }))
    await store.commit(batch('job_1', 1, { puts: [user(3, { given_name: 'First' }), user(3)] }))
    const committed = (
      await store.commit(batch('job_1', 2, { puts: [user(4), user(4, { username: 'four' })] }))
    ).puts[1] as StoredUser

    expect(allUsers(store).map((u) => [u.user_id, u.given_name, u.rev])).toEqual([
      [user(1).user_id, 'Zoë', 1],
      [user(2).user_id, 'Zoë', 1],
      [user(3).user_id, 'Zoë', 2],
      [user(4).user_id, 'Zoë', 3],
    ])
    expect(store.findByUsername(conA, 'four')).toEqual(committed)
    expect(store.findByUsername(conA, 'user4')).toBeUndefined()
    await store.compact()
    const before = allUsers(store)
    store = await reopen(store)
    expect(allUsers(store)).toEqual(before)
    expect(store.findByUsername(conA, 'four')).toEqual(committed)
  })

  it('answers the same object for a user while the caller holds it, and a new one once it changes', async () => {
    let store = await openStore()
    await store.commit(batch('job_1', 0, { puts: users(1, 3) }))
    await store.compact()
    store = await reopen(store)

    const byId = store.getById(user(2).user_id)
    expect(store.findByEmail(conA, 'user2@example.com')).toBe(byId)
    expect(store.findByUsername(conA, 'user2')).toBe(byId)
    await store.commit(batch('job_2', 0, { puts: [user(2, { given_name: 'Changed' })] }))
    const changed = store.getById(user(2).user_id)

    expect(changed).not.toBe(byId)
    expect(changed?.given_name).toBe('Changed')
    expect(byId?.given_name).toBe('Zoë')
  })

  it('reports a user whose JSON is damaged when it is read: opening only reads the keys', async () => {
    await session(async (store) => {
      await store.commit(batch('job_1', 0, { puts: users(1, 3) }))
      await store.compact()
    })
    const lines = (await readFile(join(folder.dir, 'snapshot.jsonl'), 'utf8')).split('\n')
    lines[2] = lines[2]?.replace('"email_verified":true', '"email_verified":"yes"') ?? ''
    await writeFile(join(folder.dir, 'snapshot.jsonl'), lines.join('\n'))

    const store = await openStore()

    expect(store.count()).toBe(3)
    expect(store.getById(user(1).user_id)?.email).toBe('user1@example.com')
    const error = (() => {
      try {
        store.getById(user(2).user_id)
        return undefined
      } catch (thrown) {
        return thrown
      }
    })()
    expect(error).toBeInstanceOf(AppError)
    expect((error as AppError).code).toBe('store_invalid')
    expect((error as AppError).message).toContain(`the line of user ${user(2).user_id} is not a valid user`)
  })
})
