import { afterEach, describe, expect, it } from 'vitest'
import type { ImportJob } from '../../src/domain/jobs/job.ts'
import { splitUsersFile } from '../../src/engine/split-file.ts'
import { type Harness, openHarness } from '../support/roster-harness.ts'

/**
 * `roster import --split` in the CLI's own process: each part is recorded at once (`ImportRequest.cutPart`), its
 * reading queued on the import worker thread behind the parts before it. The jobs must still run in file order with
 * their own users, and a part whose reading fails after all must fail its job with the reason, never lose or stop.
 */

let h: Harness | undefined
afterEach(async () => {
  await h?.close()
  h = undefined
})

const connection = 'Username-Password-Authentication'

function requestPart(harness: Harness, fileName: string, bytes: Buffer, rows: number): Promise<ImportJob> {
  return harness.engine.requestImport({
    connection,
    fileName,
    bytes,
    options: { upsert: true, merge: false, dryRun: false, sendCompletionEmail: false },
    requestedBy: { via: 'cli', id: 'test' },
    cutPart: { rows },
  })
}

describe('parts recorded before they are read', () => {
  it('run in the order requested, each with its own users: a later part updates what an earlier one inserted', async () => {
    h = await openHarness()
    const users = Array.from({ length: 60 }, (_, n) => ({ email: `u${n}@example.com`, name: `first ${n}` }))
    // The same users again at the end, renamed: with upsert, the file's last word wins only if the parts run in order.
    const file = [...users, ...users.map((u) => ({ ...u, name: u.name.replace('first', 'last') }))]
    const { parts, bytesOf } = splitUsersFile(Buffer.from(JSON.stringify(file)), 'big.json', 1_000)
    expect(parts.length).toBeGreaterThan(5)
    const jobs: ImportJob[] = []
    for (const part of parts) jobs.push(await requestPart(h, part.fileName, bytesOf(part), part.rows))
    const settled = await Promise.all(jobs.map((job) => h?.engine.waitFor(job.id)))
    expect(settled.map((job) => job?.status)).toEqual(parts.map(() => 'completed'))
    const summaries = settled.map((job) => (job?.type === 'users_import' ? job.summary : undefined))
    expect(summaries.reduce((n, s) => n + (s?.inserted ?? 0), 0)).toBe(60)
    expect(summaries.reduce((n, s) => n + (s?.updated ?? 0), 0)).toBe(60)
    expect(jobs.map((job) => job.upload.rows)).toEqual(parts.map((part) => part.rows))
    const found = await h.engine.findUsers('u7@example.com', connection)
    expect(found.map((user) => user.name)).toEqual(['last 7'])
  })

  it('fails a part whose reading refuses it, with the reason, and runs the parts after it', async () => {
    h = await openHarness()
    const good = (n: number) => Buffer.from(`{"email":"g${n}@example.com"}\n{"email":"h${n}@example.com"}\n`)
    const first = await requestPart(h, 'big.part-1-of-3.ndjson', good(1), 2)
    const broken = await requestPart(
      h,
      'big.part-2-of-3.ndjson',
      Buffer.from('{"email":"b@example.com",}\n'),
      1,
    )
    const last = await requestPart(h, 'big.part-3-of-3.ndjson', good(3), 2)
    expect(await h.engine.waitFor(first.id)).toMatchObject({ status: 'completed' })
    expect(await h.engine.waitFor(broken.id)).toMatchObject({
      status: 'failed',
      statusDetails: expect.stringMatching(
        /big\.part-2-of-3\.ndjson is neither a JSON array nor NDJSON: line 1/,
      ),
    })
    expect(await h.engine.waitFor(last.id)).toMatchObject({ status: 'completed', summary: { inserted: 2 } })
    expect(await h.engine.countUsers()).toBe(4)
  })
})
