import { readFile, rm, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import type { FileUserStore } from '../../src/adapters/store/file-user-store.ts'
import { indexFileName } from '../../src/adapters/store/index-file.ts'
import type { StoredUser } from '../../src/domain/users/user.ts'
import {
  allUsers,
  batch,
  conA,
  conB,
  filesIn,
  user,
  users,
  useStoreFolder,
} from '../support/user-store-fixtures.ts'

/**
 * The users stay in the store's files (snapshot lines, journal puts) and are read from there; the index of a
 * loaded snapshot is saved in `snapshot.index` for the next start. What these must keep: every read answers what
 * was committed, whichever file a user is read from, and a saved index is used only for the snapshot it belongs to.
 */

// Every snapshot gets an index file here, however small.
const folder = useStoreFolder({ indexFileMinUsers: 0 })
const { openStore, reopen } = folder

function expectReads(store: FileUserStore, committed: readonly StoredUser[]): void {
  expect(allUsers(store)).toEqual(committed)
  for (const u of committed) {
    expect(store.getById(u.user_id)).toEqual(u)
    expect(store.findByEmail(u.connection_id, u.email)).toEqual(u)
    if (u.username !== undefined) expect(store.findByUsername(u.connection_id, u.username)).toEqual(u)
  }
  expect(store.count()).toBe(committed.length)
}

describe('FileUserStore users read from its files', () => {
  it('reads committed users from the journal once durable, also after more commits and a reopen', async () => {
    let store = await openStore()
    const first = await store.commit(batch('job_1', 0, { puts: users(1, 50) }))
    const second = await store.commit(batch('job_1', 1, { puts: [user(7, { given_name: 'Again' })] }))
    const committed = (first.puts as StoredUser[]).map((u) =>
      u.user_id === user(7).user_id ? (second.puts[0] as StoredUser) : u,
    )

    expectReads(store, committed)
    store = await reopen(store)
    expectReads(store, committed)
  })

  it('reopens a journal without parsing its users where it can, finding each by every key, odd keys included', async () => {
    let store = await openStore()
    // Lines with plain keys are read from their bytes; one whose keys hold escapes is parsed whole. Non-ASCII keys,
    // a delete and an update in between, and the last line (always parsed) in both kinds.
    const odd = user(3, { user_id: 'auth0|a"b\\c', email: 'zoë@exämple.org', username: 'zoë' })
    await store.commit(batch('job_1', 0, { puts: users(1, 2) }))
    await store.commit(
      batch('job_1', 1, { puts: [odd, user(4, { email: 'ünï@example.com', username: 'ünï' })] }),
    )
    await store.commit(
      batch('job_2', 0, { puts: [user(1, { given_name: 'Changed' })], deletes: [user(2).user_id] }),
    )
    const last = await store.commit(batch('job_2', 1, { puts: [user(5)] }))
    const committed = allUsers(store)
    expect(committed.map((u) => u.user_id).sort()).toEqual(
      [odd.user_id, user(1).user_id, user(4).user_id, user(5).user_id].sort(),
    )
    expect(last.seq).toBe(4)

    store = await reopen(store)

    expectReads(store, committed)
    expect(store.commitsOf('job_2').map((c) => c.seq)).toEqual([3, 4])
    // A compaction writes each journal user's keys from its bytes (the odd one's from the parsed user).
    await store.compact()
    store = await reopen(store)
    expectReads(store, committed)
  })

  it('replays a journal record written by hand (spaces around its keys), keeping its users readable', async () => {
    const u = { ...user(1), rev: 1 }
    const record = `{ "seq": 1, "jobId": "job_1", "chunk": 0, "puts": [ ${JSON.stringify(u)} ], "deletes": [], "meta": null }\n`
    await writeFile(join(folder.dir, 'journal-1.jsonl'), record)

    const store = await openStore()

    expectReads(store, [u])
  })

  it('keeps a scan taken before a compaction readable after the compaction replaced the files', async () => {
    const store = await openStore()
    const record = await store.commit(batch('job_1', 0, { puts: users(1, 30) }))
    const scan = store.scan()
    const json = store.scanJson()

    await store.compact()
    await store.commit(batch('job_2', 0, { deletes: [user(1).user_id] }))
    await store.compact()

    expect([...scan]).toEqual(record.puts)
    expect([...json].length).toBe(30)
    expect(store.count()).toBe(29)
  })
})

describe('FileUserStore index file', () => {
  it('saves the index of a loaded snapshot and opens from it with the same answers', async () => {
    let store = await openStore()
    const record = await store.commit(batch('job_1', 0, { puts: users(1, 40, { connection_id: conA }) }))
    await store.compact()
    await store.close()
    // The compaction wrote one (see below): gone, so that this start loads the lines and saves its own.
    await rm(join(folder.dir, indexFileName))

    store = await openStore()
    expect(await filesIn(folder.dir)).toContain(indexFileName)
    const saved = await stat(join(folder.dir, indexFileName))
    store = await reopen(store)

    expect((await stat(join(folder.dir, indexFileName))).mtimeMs).toBe(saved.mtimeMs)
    expectReads(store, record.puts as StoredUser[])
    const more = await store.commit(batch('job_2', 0, { puts: [user(100)], deletes: [user(3).user_id] }))
    const committed = [
      ...(record.puts as StoredUser[]).filter((u) => u.user_id !== user(3).user_id),
      ...more.puts,
    ]
    expectReads(store, committed as StoredUser[])
  })

  it('a compaction writes the index of its snapshot: the next start opens from it, the index loading builds', async () => {
    let store = await openStore()
    await store.commit(batch('job_1', 0, { puts: users(1, 30) }))
    await store.commit(batch('job_1', 1, { puts: users(31, 30, { connection_id: conB }) }))
    const changed = await store.commit(
      batch('job_2', 0, {
        puts: [
          user(4, { username: undefined }),
          // Two users of one connection with one email: the lookup answers the later line, as loading does.
          user(5, { email: 'shared@example.com' }),
          user(9, { email: 'shared@example.com' }),
          user(40, { connection_id: conB, email: 'moved@example.com' }),
        ],
        deletes: [user(7).user_id, user(33).user_id],
      }),
    )
    // A commit while the compaction runs is not in its snapshot: it is replayed from the journal on top.
    const compacting = store.compact()
    const during = await store.commit(batch('job_3', 0, { puts: [user(100)], deletes: [user(8).user_id] }))
    await compacting
    const committed = allUsers(store)
    expect(committed.map((u) => u.user_id)).toContain(during.puts[0]?.user_id)
    expect(await filesIn(folder.dir)).toContain(indexFileName)
    const written = await readFile(join(folder.dir, indexFileName))
    const { ino } = await stat(join(folder.dir, indexFileName))

    store = await reopen(store)

    // Opened from it: a start that could not use it would have saved a new file in its place.
    expect((await stat(join(folder.dir, indexFileName))).ino).toBe(ino)
    expect(allUsers(store)).toEqual(committed)
    for (const u of committed) {
      expect(store.getById(u.user_id)).toEqual(u)
      if (u.email !== 'shared@example.com') expect(store.findByEmail(u.connection_id, u.email)).toEqual(u)
      if (u.username !== undefined) expect(store.findByUsername(u.connection_id, u.username)).toEqual(u)
    }
    expect(store.count({ connectionId: conB })).toBe(29)
    expect(store.findByEmail(conA, 'shared@example.com')).toEqual(changed.puts[2])
    expect(store.findByUsername(conA, 'user4')).toBeUndefined()
    expect(store.findByEmail(conB, 'moved@example.com')).toEqual(changed.puts[3])
    // Byte for byte the index a start builds from the snapshot's lines.
    await store.close()
    await rm(join(folder.dir, indexFileName))
    store = await openStore()
    expect(await readFile(join(folder.dir, indexFileName))).toEqual(written)
  })

  it('a compaction of users with no slot freed (the index arrays copied whole) writes an index the next start uses', async () => {
    let store = await openStore()
    await store.commit(batch('job_1', 0, { puts: users(1, 20) }))
    await store.commit(batch('job_1', 1, { puts: [user(3, { username: undefined, given_name: 'Again' })] }))
    await store.compact()
    const committed = allUsers(store)
    const written = await readFile(join(folder.dir, indexFileName))
    const { ino } = await stat(join(folder.dir, indexFileName))

    store = await reopen(store)

    expect((await stat(join(folder.dir, indexFileName))).ino).toBe(ino)
    expectReads(store, committed)
    await store.close()
    await rm(join(folder.dir, indexFileName))
    store = await openStore()
    expect(await readFile(join(folder.dir, indexFileName))).toEqual(written)
  })

  it('ignores the index file of an earlier snapshot once a compaction wrote a new one', async () => {
    let store = await openStore()
    await store.commit(batch('job_1', 0, { puts: users(1, 20) }))
    await store.compact()
    store = await reopen(store)
    const record = await store.commit(batch('job_2', 0, { puts: [user(5, { email: 'moved@example.com' })] }))
    await store.commit(batch('job_2', 1, { deletes: [user(6).user_id] }))
    await store.compact()

    store = await reopen(store)

    expect(store.getById(user(6).user_id)).toBeUndefined()
    expect(store.findByEmail(user(5).connection_id, 'moved@example.com')).toEqual(record.puts[0])
    expect(store.findByEmail(user(5).connection_id, user(5).email)).toBeUndefined()
    expect(store.count()).toBe(19)
  })

  it('ignores an index file whose arrays do not match their checksum, and writes a good one', async () => {
    let store = await openStore()
    const record = await store.commit(batch('job_1', 0, { puts: users(1, 20) }))
    await store.compact()
    store = await reopen(store)
    await store.close()
    const bytes = await readFile(join(folder.dir, indexFileName))
    // The last byte is in the username table: flipping it would point a lookup at the wrong slot.
    bytes[bytes.length - 1] = (bytes[bytes.length - 1] as number) ^ 0xff
    await writeFile(join(folder.dir, indexFileName), bytes)

    store = await openStore()

    expectReads(store, record.puts as StoredUser[])
    expect(await readFile(join(folder.dir, indexFileName))).not.toEqual(bytes)
  })

  it('opens without the index file when it is gone', async () => {
    let store = await openStore()
    const record = await store.commit(batch('job_1', 0, { puts: users(1, 10) }))
    await store.compact()
    store = await reopen(store)
    await store.close()
    await rm(join(folder.dir, indexFileName))

    store = await openStore()

    expectReads(store, record.puts as StoredUser[])
  })
})
