import { gzipSync } from 'node:zlib'
import { afterEach, describe, expect, it } from 'vitest'
import { ImportWorker } from '../../src/adapters/import-worker/import-worker.ts'
import type { Connection } from '../../src/domain/connections/connection.ts'
import { inputLimits } from '../../src/domain/import/input-limits.ts'
import { newUserJson } from '../../src/domain/import/new-user-json.ts'
import { parseUsersFile } from '../../src/domain/import/parse-users-file.ts'
import type { PlannedRow } from '../../src/domain/import/plan-chunk.ts'
import { type CheckedChunk, checkRows } from '../../src/engine/check-rows.ts'
import type { ImportFileToRead, ReadImportFile } from '../../src/engine/ports.ts'
import { decodeUpload } from '../../src/engine/request-import.ts'
import { splitUsersFile } from '../../src/engine/split-file.ts'
import { AppError } from '../../src/errors.ts'
import { silentLogger } from '../../src/logger.ts'

/**
 * The import worker thread gives every file the answers the main thread gives it: the same whole-file errors (code
 * and message), the same checked chunks, the same users as written; a thread that dies fails only the files it was
 * reading, and the next file gets a new thread.
 */

const connection = {
  id: 'con_0000000000000001',
  name: 'Username-Password-Authentication',
  strategy: 'auth0',
} as Connection

const workers: ImportWorker[] = []
afterEach(async () => {
  await Promise.all(workers.splice(0).map((worker) => worker.close()))
})

function newWorker(url?: URL): ImportWorker {
  const worker = new ImportWorker(silentLogger, url)
  workers.push(worker)
  return worker
}

function file(fileName: string, content: string | Uint8Array, chunkRows = 3): ImportFileToRead {
  const bytes = typeof content === 'string' ? Buffer.from(content) : content
  return { bytes, fileName, maxBytes: 512_000, exportLabels: {}, connection, chunkRows, planReadsRows: true }
}

/** What the main thread makes of the file: its users and checked chunks, or the error it throws. */
async function onMainThread(input: ImportFileToRead) {
  try {
    const text = decodeUpload(input.bytes, input.fileName, input.maxBytes)
    const { format, rows } = parseUsersFile(text, input.fileName, input.exportLabels)
    const checks = checkRows(rows, {
      connection,
      exportLabels: input.exportLabels,
      chunkRows: input.chunkRows,
      fromChunk: 0,
    })
    return { format, rows, chunks: (await Promise.all(checks)).map(asChecked) }
  } catch (error) {
    return { error: describeError(error) }
  }
}

async function onWorker(worker: ImportWorker, input: ImportFileToRead) {
  let read: ReadImportFile
  try {
    read = await worker.read(input)
  } catch (error) {
    return { error: describeError(error) }
  }
  const rows = Array.from({ length: read.rows.length }, (_, index) => read.rows.at(index))
  const chunks: CheckedChunk[] = await Promise.all(read.checks)
  for (const chunk of chunks) for (const planned of chunk.valid) expectPartsOf(planned)
  return { format: read.format, rows, chunks: chunks.map(asChecked) }
}

/**
 * A chunk as the planner reads it: each valid row's fields (the worker's rows are parsed when read, so they are
 * compared by what reading them gives), its metadata given key by key, its label disagreements.
 */
function asChecked(chunk: CheckedChunk) {
  return {
    ...chunk,
    valid: chunk.valid.map(({ index, row, partialMetadata, disagreements, labelled }) => ({
      index,
      row,
      partialMetadata: partialMetadata ?? [],
      ...(disagreements ? { disagreements, labelled } : {}),
    })),
  }
}

/** A row the worker packed brings its keys and its new user's parts, as the main thread would make them. */
function expectPartsOf(planned: PlannedRow): void {
  if (planned.keys === undefined) return
  const { email, user_id, username } = planned.row
  expect({ ...planned.keys }).toMatchObject({ email, user_id, username })
  const json = newUserJson(planned.row)
  const parts = planned.newUser
  if (parts === undefined) throw new Error(`row ${planned.index} was packed without its new user`)
  const text = (from: number, to: number) => Buffer.from(parts.bytes.subarray(from, to)).toString()
  expect(text(parts.profileStart, parts.restStart)).toBe(json?.profile)
  expect(text(parts.restStart, parts.restEnd)).toBe(json?.rest)
}

function describeError(error: unknown) {
  return error instanceof AppError
    ? { code: error.code, message: error.message }
    : { message: (error as Error).message }
}

const user = (n: number, extra: Record<string, unknown> = {}) => ({
  email: `user${n}@example.com`,
  given_name: `Given ${n}`,
  ...extra,
})
const users = Array.from({ length: 8 }, (_, n) => user(n))
const nest = (depth: number): unknown => (depth === 0 ? 'x' : { a: nest(depth - 1) })

const cases: [string, ImportFileToRead][] = [
  ['a JSON array, pretty-printed, with a BOM', file('users.json', `\ufeff${JSON.stringify(users, null, 2)}`)],
  [
    'NDJSON with blank lines and CRLF',
    file('users.ndjson', users.map((u) => JSON.stringify(u)).join('\r\n\n')),
  ],
  ['gzipped JSON', file('users.json.gz', gzipSync(Buffer.from(JSON.stringify(users))))],
  [
    'CSV',
    file('users.csv', `email,given_name\n${users.map((u) => `${u.email},${u.given_name}`).join('\n')}\n`),
  ],
  [
    'invalid users, duplicates and reserved keys',
    file(
      'mixed.json',
      `[${[
        JSON.stringify(user(1)),
        JSON.stringify(user(1)),
        '{"email":"bad","__proto__":{"x":1}}',
        JSON.stringify(user(2, { user_metadata: nest(inputLimits.maxDepth + 1) })),
        JSON.stringify(user(3, { user_metadata: { s: 'x'.repeat(inputLimits.maxStringChars + 1) } })),
        JSON.stringify(user(4, { blocked: 'INF' })).replace('"INF"', '1e400'),
        '"not an object"',
      ].join(',')}]`,
    ),
  ],
  [
    'a file nesting too deep (refused whole)',
    file('deep.json', `[{"email":"a@b.co","x":${'['.repeat(300)}]`),
  ],
  [
    'invalid UTF-8',
    file('latin1.json', Buffer.from([0x5b, 0x7b, 0x22, 0x65, 0xe9, 0x22, 0x3a, 0x31, 0x7d, 0x5d])),
  ],
  ['not JSON', file('broken.json', '[{"email": "a@b.co",}]')],
  ['an NDJSON line that is not JSON', file('broken.ndjson', '{"email":"a@b.co"}\n{"email":')],
  ['a wrapper object', file('wrapped.json', JSON.stringify({ users }))],
  ['an empty file', file('empty.json', '  \n')],
  ['a gzip that does not unpack', file('x.json.gz', Buffer.from([0x1f, 0x8b, 1, 2, 3]))],
]

describe('the import worker thread', () => {
  it('answers every kind of file, valid or hostile, as the main thread does', async () => {
    // One thread for all of them (it takes a second or more to start), as a server has.
    const worker = newWorker()
    for (const [what, input] of cases)
      expect(await onWorker(worker, input), what).toEqual(await onMainThread(input))
  })

  it('gives the same rows when they come without their JSON (checked again from the text when read)', async () => {
    const worker = newWorker()
    const labelled = file(
      'labelled.json',
      JSON.stringify([user(1, { 'Given Name': 'Other' }), user(2, { 'Given Name': 'Given 2' }), user(3)]),
    )
    for (const [what, input] of [...cases, ['labels', labelled] as const]) {
      const lean = { ...input, planReadsRows: false }
      expect(await onWorker(worker, lean), what).toEqual(await onMainThread(lean))
    }
  })

  it('fails the file under way when its thread dies, and reads the next file on a new thread', async () => {
    const worker = newWorker(new URL('../support/crashing-import-worker.ts', import.meta.url))
    const crash = worker.read(file('crash.json', JSON.stringify(users)))
    await expect(crash).rejects.toMatchObject({
      code: 'unexpected',
      message: expect.stringMatching(/import worker thread stopped while checking crash\.json \(.*code 3\)/),
    })
    const next = file('users.json', JSON.stringify(users))
    expect(await onWorker(worker, next)).toEqual(await onMainThread(next))
  })

  it('reads each part roster import --split cuts as the main thread reads it', async () => {
    const worker = newWorker()
    const splits: [string, string, string | Uint8Array, number][] = [
      ['a pretty-printed JSON array with a BOM', 'big.json', `\ufeff${JSON.stringify(users, null, 2)}`, 120],
      ['NDJSON with CRLF', 'big.ndjson', users.map((u) => JSON.stringify(u)).join('\r\n'), 100],
      ['gzipped JSON', 'big.json.gz', gzipSync(Buffer.from(JSON.stringify(users))), 150],
      ['CSV', 'big.csv', `email,given_name\n${users.map((u) => `${u.email},G`).join('\n')}`, 90],
      [
        'invalid users and in-part duplicates',
        'mixed.json',
        `[${JSON.stringify(user(1))},${JSON.stringify(user(1))},{"email":"bad"},"x"]`,
        120,
      ],
    ]
    for (const [what, fileName, content, maxBytes] of splits) {
      const { parts, bytesOf } = splitUsersFile(Buffer.from(content), fileName, maxBytes)
      expect(parts.length, what).toBeGreaterThan(1)
      for (const part of parts) {
        const input = file(part.fileName, bytesOf(part), 2)
        const read = await onWorker(worker, input)
        expect(read, `${what}, part ${part.part}`).toEqual(await onMainThread(input))
      }
    }
  })

  it('fails the files it was reading when closed, and reads no more', async () => {
    const worker = newWorker()
    const pending = worker.read(file('users.json', JSON.stringify(users)))
    await worker.close()
    await expect(pending).rejects.toMatchObject({ code: 'store_unavailable' })
    await expect(worker.read(file('users.json', JSON.stringify(users)))).rejects.toMatchObject({
      code: 'store_unavailable',
    })
  })
})
