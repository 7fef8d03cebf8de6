import { deserialize, serialize } from 'node:v8'
import { packChunk, unpackChunk } from '../../src/adapters/import-worker/packed-chunk.ts'
import { type CommitToEncode, encodeCommit } from '../../src/adapters/store/store-files.ts'
import { parseUsersFile } from '../../src/domain/import/parse-users-file.ts'
import { newUser, planChunk } from '../../src/domain/import/plan-chunk.ts'
import { rowSpans } from '../../src/domain/import/row-spans.ts'
import { decodeUtf8 } from '../../src/domain/import/utf8.ts'
import { type CheckedChunk, checkRows } from '../../src/engine/check-rows.ts'

/**
 * What moving an import file's parse and checks to a worker thread costs in copies, on one file (issue 15): the main
 * thread's own work today, and each way of getting the result across. Structured clone is V8's serializer
 * (`node:v8` serialize/deserialize is the same code postMessage runs); each figure is a median in milliseconds.
 */
export interface TransferCost {
  users: number
  /** Main thread today: UTF-8 decode, nesting check, JSON.parse. */
  parseMs: number
  /** Main thread today: normalize, in-file duplicates, validate (checkRows). */
  checkMs: number
  /** Parse here, check there: the parsed users cloned over (serialize here + rebuild there). */
  rawCloneMs: { send: number; receive: number }
  /** Parse and check there: the checked chunk cloned back (serialize there, rebuild here). */
  checkedCloneMs: { send: number; receive: number }
  /** The same as one JSON string: stringify there, JSON.parse here (loses undefined, -0, …: not used). */
  checkedJsonMs: { send: number; receive: number }
  /** Where each user is in the text (worker side): what lets the main thread skip the users as written. */
  spansMs: number
  /**
   * What Roster sends (packed-chunk.ts): on the worker, each valid user's keys and new-user JSON parts written out
   * (`pack`, new-user-json.ts, which takes over the stringify the main thread's store did) and cloned (`send`: the
   * keys as one string, the bytes transferred); on the main thread, rebuilt (`receive`) and made into rows the planner
   * reads without parsing (`unpack`).
   */
  packedMs: { pack: number; send: number; receive: number; unpack: number }
  /** The main thread's store, stringifying a chunk of new users itself (objects from `newUser`, as before packing). */
  encodeObjectsMs: number
  /** The same users' journal line from their packed bytes. */
  encodePackedMs: number
}

function median(work: () => unknown, runs = 15): number {
  const samples: number[] = []
  for (let i = 0; i < runs; i++) {
    const start = performance.now()
    work()
    samples.push(performance.now() - start)
  }
  samples.sort((a, b) => a - b)
  return samples[Math.floor(runs / 2)] as number
}

async function medianAsync(work: () => Promise<unknown>, runs = 15): Promise<number> {
  const samples: number[] = []
  for (let i = 0; i < runs; i++) {
    const start = performance.now()
    await work()
    samples.push(performance.now() - start)
  }
  samples.sort((a, b) => a - b)
  return samples[Math.floor(runs / 2)] as number
}

export async function measureTransfer(text: string): Promise<TransferCost> {
  const bytes = Buffer.from(text)
  const parse = () => parseUsersFile(decodeUtf8(bytes, 'users.json'), 'users.json').rows
  const rows = parse()
  const connection = { id: 'con_1', name: 'c', strategy: 'auth0' } as never
  const check = () =>
    Promise.all(checkRows(rows, { connection, exportLabels: {}, chunkRows: rows.length, fromChunk: 0 }))
  const [checked] = await check()
  const raw = serialize(rows)
  const cloned = serialize(checked)
  const json = JSON.stringify(checked)
  const valid = checked as CheckedChunk
  const packed = packChunk(valid, false)
  const packedClone = serialize(packed)
  const unpacked = unpackChunk(packed, () => {
    throw new Error('not read')
  })
  const now = new Date().toISOString()
  let n = 0
  const newUserId = () => `t${(n++).toString(16).padStart(23, '0')}`
  const objects = () =>
    valid.valid.map((planned) =>
      newUser(planned.row, connection, 'auth0', undefined, { upsert: false, merge: false, now, newUserId }),
    )
  const encoded = () =>
    planChunk(unpacked.valid, connection, emptyLookup, {
      upsert: false,
      merge: false,
      now,
      newUserId,
      encodeNewUsers: true,
    }).puts
  const line = (puts: CommitToEncode['puts']) =>
    encodeCommit({ seq: 1, jobId: 'job', chunk: 0, puts, deletes: [], meta: null })
  return {
    users: rows.length,
    parseMs: median(parse),
    checkMs: await medianAsync(check),
    rawCloneMs: { send: median(() => serialize(rows)), receive: median(() => deserialize(raw)) },
    checkedCloneMs: { send: median(() => serialize(checked)), receive: median(() => deserialize(cloned)) },
    checkedJsonMs: { send: median(() => JSON.stringify(checked)), receive: median(() => JSON.parse(json)) },
    spansMs: median(() => rowSpans(text, 'json')),
    packedMs: {
      pack: median(() => packChunk(valid, false)),
      send: median(() => serialize(packed)),
      receive: median(() => deserialize(packedClone)),
      unpack: median(() => unpackChunk(packed, () => ({}) as never)),
    },
    encodeObjectsMs: median(() => line(objects())),
    encodePackedMs: median(() => line(encoded())),
  }
}

const emptyLookup = {
  getById: () => undefined,
  findByEmail: () => undefined,
  findByUsername: () => undefined,
}

/** The figures in one line, for P3's notes. */
export function describeTransfer(t: TransferCost): string {
  const ms = (n: number) => `${n.toFixed(1)} ms`
  return (
    `Both cores (issue 15): queued files are read and checked on a worker thread while the main thread plans and commits. Transfer cost, measured now on one 500 KB file (${t.users} users): on the main thread today, parse ${ms(t.parseMs)} + checks ${ms(t.checkMs)}. ` +
    `Parsing here and checking there would clone the parsed users over (${ms(t.rawCloneMs.send)} to send + ${ms(t.rawCloneMs.receive)} to rebuild) and still parse here: not chosen. ` +
    `Passing the bytes (a 0.5 MB copy) and parsing and checking there leaves the main thread only the checked chunk to rebuild: ${ms(t.checkedCloneMs.receive)} by structured clone (${ms(t.checkedCloneMs.send)} to send), or ${ms(t.checkedJsonMs.receive)} as one JSON string (${ms(t.checkedJsonMs.send)} to stringify) — ` +
    `chosen at first: the bytes there, the checked rows back by structured clone; of the users as written only their count comes back (a report that quotes one finds every user's place in the text on the main thread then, ${ms(t.spansMs)}, once per file with errors). ` +
    `Now (packed-chunk.ts): the rows do not come back as objects. The worker writes each valid user's keys and its new user's JSON parts (all that the row decides; ${ms(t.packedMs.pack)}, most of it the stringify the main thread's store did before) into one string and one transferred buffer (${ms(t.packedMs.send)} to send, ${ms(t.packedMs.receive)} to rebuild, ${ms(t.packedMs.unpack)} to make the planner's rows); the planner puts each new user as those bytes with its id, connection and timestamps, and the store copies them into its journal line: planning and encoding the chunk's new users takes the main thread ${ms(t.encodePackedMs)} instead of ${ms(t.encodeObjectsMs)} (newUser objects, stringified by the store). A row is parsed on the main thread only when the plan reads it (an upsert's update, a dry run; its JSON comes along then).`
  )
}

// `node --import tsx bench/support/transfer-cost.ts`: the figures alone.
if (import.meta.url === `file://${process.argv[1]}`) {
  const { importFile } = await import('./generate.ts')
  console.log(describeTransfer(await measureTransfer(importFile(0).text)))
}
