import { appendFile, mkdir, open, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import type { AppendHandle } from '../../src/adapters/store/journal-writer.ts'
import {
  allUsers,
  batch,
  filesIn,
  journalSeqs,
  rejection,
  user,
  users,
  useStoreFolder,
} from '../support/user-store-fixtures.ts'

const folder = useStoreFolder()
const { openStore, session } = folder

const journal = (generation: number) => join(folder.dir, `journal-${generation}.jsonl`)
const snapshot = () => join(folder.dir, 'snapshot.jsonl')

async function replaceLine(path: string, lineIndex: number, text: string | undefined): Promise<void> {
  const lines = (await readFile(path, 'utf8')).split('\n')
  if (text === undefined) lines.splice(lineIndex, 1)
  else lines[lineIndex] = text
  await writeFile(path, lines.join('\n'))
}

describe('FileUserStore after a crash mid-append', () => {
  it.each([
    ['half a record without its newline', '{"seq":2,"jobId":"job_1","chunk":1,"puts":[{"user_id":"auth0|'],
    ['garbage without a newline', 'xx'],
    ['an unparsable last line with its newline', '{"seq":2,"jobId":\n'],
    ['zeros where the record should be', '\u0000\u0000\u0000\u0000'],
  ])('ignores and cuts off %s, so later commits survive another reopen', async (_, tail) => {
    await session((store) => store.commit(batch('job_1', 0, { puts: [user(1)] })))
    const goodBytes = (await stat(journal(1))).size
    await appendFile(journal(1), tail)

    await session(async (store) => {
      expect((await stat(journal(1))).size).toBe(goodBytes)
      expect((await store.commit(batch('job_1', 1, { puts: [user(2)] }))).seq).toBe(2)
    })
    const reopened = await openStore()

    expect(await journalSeqs(journal(1))).toEqual([1, 2])
    expect(allUsers(reopened).map((u) => u.user_id)).toEqual([user(1).user_id, user(2).user_id])
  })

  it('accepts a torn tail in the old journal when the crash came before anything reached the new one', async () => {
    await session((store) => store.commit(batch('job_1', 0, { puts: [user(1)] })))
    await appendFile(journal(1), '{"seq":2,"jobId":"job_1","chunk":1,"pu')
    await writeFile(journal(2), '')

    const store = await openStore()
    await store.commit(batch('job_2', 0, { puts: [user(2)] }))

    expect(await journalSeqs(journal(1))).toEqual([1])
    expect(await journalSeqs(journal(2))).toEqual([2])
  })

  it('refuses a torn tail in a journal that later journals continue: appends never overtake each other', async () => {
    await session((store) => store.commit(batch('job_1', 0, { puts: [user(1)] })))
    const oldJournal = await readFile(journal(1), 'utf8')
    await session(async (store) => {
      await store.compact()
      await store.commit(batch('job_2', 0, { puts: [user(2)] }))
    })
    await rm(snapshot())
    await writeFile(journal(1), `${oldJournal}{"seq":2,"jobId":`)

    const error = await rejection(openStore())

    expect(error.code).toBe('store_invalid')
    expect(error.message).toContain('journal-1.jsonl line 2: incomplete record, yet')
  })

  it('refuses a bad line that is not the last one, naming the file and line', async () => {
    await session(async (store) => {
      for (const chunk of [0, 1, 2]) await store.commit(batch('job_1', chunk, { puts: [user(chunk)] }))
    })
    await replaceLine(journal(1), 1, '{"seq":2,"jobId":')

    const error = await rejection(openStore())

    expect(error.code).toBe('store_invalid')
    expect(error.message).toContain('journal-1.jsonl line 2')
    expect(error.details).toEqual({ file: journal(1), line: 2 })
  })

  it('refuses a last line that is JSON but not a commit record: a crash does not write those', async () => {
    await session((store) => store.commit(batch('job_1', 0, { puts: [user(1)] })))
    await appendFile(journal(1), '{"seq":2,"jobId":"job_1"}\n')

    const error = await rejection(openStore())

    expect(error.code).toBe('store_invalid')
    expect(error.message).toContain('journal-1.jsonl line 2: not a valid commit record')
  })

  it('opens a journal whose user is damaged inside its JSON, and names that user when it is read', async () => {
    // As with a snapshot line, a journal user is parsed and checked when it is read, not when the store opens.
    await session(async (store) => {
      for (const chunk of [0, 1]) await store.commit(batch('job_1', chunk, { puts: [user(chunk)] }))
    })
    const lines = (await readFile(journal(1), 'utf8')).split('\n')
    await replaceLine(
      journal(1),
      0,
      (lines[0] as string).replace('"email_verified":true', '"email_verified":tru'),
    )

    const store = await openStore()

    expect(store.getById(user(1).user_id)?.email).toBe(user(1).email)
    expect(() => store.getById(user(0).user_id)).toThrow(
      `User store: the line of user ${user(0).user_id} is not a valid user (not valid JSON)`,
    )
  })

  it('refuses a journal with a commit missing in the middle', async () => {
    await session(async (store) => {
      for (const chunk of [0, 1, 2]) await store.commit(batch('job_1', chunk, { puts: [user(chunk)] }))
    })
    await replaceLine(journal(1), 1, undefined)

    const error = await rejection(openStore())

    expect(error.code).toBe('store_invalid')
    expect(error.message).toContain('journal-1.jsonl line 2: commit 3 follows commit 1')
  })
})

describe('FileUserStore snapshot damage', () => {
  async function compacted(): Promise<void> {
    await session(async (store) => {
      await store.commit(batch('job_1', 0, { puts: users(1, 5) }))
      await store.compact()
    })
  }

  it('refuses a garbled user line, naming the file and line', async () => {
    await compacted()
    await replaceLine(snapshot(), 3, '{"user_id":"auth0|x"}')

    const error = await rejection(openStore())

    expect(error.code).toBe('store_invalid')
    expect(error.message).toContain('snapshot.jsonl line 4: not a valid user')
  })

  it('refuses a snapshot that holds a user twice', async () => {
    await compacted()
    const lines = (await readFile(snapshot(), 'utf8')).split('\n')
    await replaceLine(snapshot(), 5, lines[1])

    const error = await rejection(openStore())

    expect(error.code).toBe('store_invalid')
    expect(error.message).toContain(`snapshot.jsonl line 6: user ${user(1).user_id} appears twice`)
  })

  it('refuses a snapshot cut short at a line boundary', async () => {
    await compacted()
    await replaceLine(snapshot(), 5, undefined)

    const error = await rejection(openStore())

    expect(error.code).toBe('store_invalid')
    expect(error.message).toContain('the header promises 5 users but the file ends after 4')
  })

  it('refuses to start without the snapshot when later journals remain', async () => {
    await compacted()
    await rm(snapshot())

    const error = await rejection(openStore())

    expect(error.code).toBe('store_invalid')
    expect(error.message).toContain('snapshot.jsonl is missing')
  })
})

describe('FileUserStore after a crash mid-compaction', () => {
  it('ignores a half-written snapshot.jsonl.tmp and deletes it', async () => {
    await session((store) => store.commit(batch('job_1', 0, { puts: users(1, 5) })))
    await writeFile(
      join(folder.dir, 'snapshot.jsonl.tmp'),
      '{"format":"roster-users","version":1,"seq":1,"jour',
    )

    const reopened = await openStore()

    expect(reopened.count()).toBe(5)
    expect(await filesIn(folder.dir)).toEqual(['journal-1.jsonl'])
  })

  it('replays old and new journal when the crash came after rotation but before the rename', async () => {
    let expected: unknown[] = []
    await session((store) => store.commit(batch('job_1', 0, { puts: users(1, 5) })))
    const oldJournal = await readFile(journal(1))
    await session(async (store) => {
      await store.compact()
      await store.commit(batch('job_2', 0, { puts: [user(9)], deletes: [user(1).user_id] }))
      expected = allUsers(store)
    })
    // Back to the moment before the rename: no snapshot yet, the old journal still there, a partial tmp.
    await rm(snapshot())
    await writeFile(journal(1), oldJournal)
    await writeFile(join(folder.dir, 'snapshot.jsonl.tmp'), '{"format":"roster-users"')

    const reopened = await openStore()

    expect(allUsers(reopened)).toEqual(expected)
    expect(reopened.commitsOf('job_1').map((record) => record.seq)).toEqual([1])
    expect((await reopened.commit(batch('job_3', 0, { puts: [user(10)] }))).seq).toBe(3)
    expect(await journalSeqs(journal(2))).toEqual([2, 3])
  })

  it('replays from the earlier snapshot when the second compaction crashed before its rename', async () => {
    let expected: unknown[] = []
    await session(async (store) => {
      await store.commit(batch('job_1', 0, { puts: users(1, 5) }))
      await store.compact()
      await store.commit(batch('job_2', 0, { puts: [user(6)], deletes: [user(2).user_id] }))
    })
    const [firstSnapshot, secondJournal] = await Promise.all([readFile(snapshot()), readFile(journal(2))])
    await session(async (store) => {
      await store.compact()
      await store.commit(
        batch('job_3', 0, { puts: [user(7, { given_name: 'Late' })], deletes: [user(3).user_id] }),
      )
      expected = allUsers(store)
    })
    await Promise.all([writeFile(snapshot(), firstSnapshot), writeFile(journal(2), secondJournal)])

    const reopened = await openStore()

    expect(allUsers(reopened)).toEqual(expected)
    expect(reopened.getById(user(7).user_id)?.given_name).toBe('Late')
  })

  it('uses the new snapshot and deletes the old journal when the crash came after the rename', async () => {
    let expected: unknown[] = []
    await session((store) => store.commit(batch('job_1', 0, { puts: users(1, 5) })))
    const oldJournal = await readFile(journal(1))
    await session(async (store) => {
      await store.compact()
      await store.commit(batch('job_2', 0, { deletes: [user(1).user_id] }))
      expected = allUsers(store)
    })
    await writeFile(journal(1), oldJournal)

    const reopened = await openStore()

    expect(allUsers(reopened)).toEqual(expected)
    expect(reopened.commitsOf('job_1')).toEqual([])
    expect(await filesIn(folder.dir)).toEqual(['journal-2.jsonl', 'snapshot.jsonl'])
  })
})

describe('FileUserStore after a failed write', () => {
  it('rejects the failed commit and those queued behind it, then refuses commits without applying them', async () => {
    let failing = false
    const store = await openStore({
      openJournal: async (path) => {
        const handle = await open(path, 'a')
        const flaky: AppendHandle = {
          write: (buffer, offset, length) => handle.write(buffer, offset, length),
          datasync: () =>
            failing ? Promise.reject(new Error('EIO: i/o error, fdatasync')) : handle.datasync(),
          close: () => handle.close(),
        }
        return flaky
      },
    })
    await store.commit(batch('job_1', 0, { puts: [user(1)] }))
    failing = true

    const failed = await Promise.all([
      rejection(store.commit(batch('job_1', 1, { puts: [user(2)] }))),
      rejection(store.commit(batch('job_1', 2, { puts: [user(3)] }))),
    ])
    const refused = await rejection(store.commit(batch('job_1', 3, { puts: [user(4)] })))

    expect(failed.map((error) => error.code)).toEqual(['store_unavailable', 'store_unavailable'])
    expect(failed[0]?.message).toContain('EIO')
    expect(refused.code).toBe('store_unavailable')
    expect(store.getById(user(4).user_id)).toBeUndefined()
    expect((await rejection(store.compact())).code).toBe('store_unavailable')
  })

  it('refuses commits when the new journal of a compaction cannot be created', async () => {
    const store = await openStore()
    await store.commit(batch('job_1', 0, { puts: users(1, 3) }))
    // A directory where the next journal file should go: open() fails even for root.
    await mkdir(journal(2))

    const compaction = await rejection(store.compact())
    const refused = await rejection(store.commit(batch('job_2', 0, { puts: [user(9)] })))

    expect(compaction.code).toBe('store_unavailable')
    expect(compaction.message).toContain('journal-2.jsonl')
    expect(refused.code).toBe('store_unavailable')
    expect(await filesIn(folder.dir)).toEqual(['journal-1.jsonl', 'journal-2.jsonl'])
  })
})
