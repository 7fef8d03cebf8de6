import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { defaultConnection, poll, RosterProcesses, type ServerProcess } from '../support/roster-process.ts'
import { readCatalog } from '../support/store-inspection.ts'

/**
 * "A poison job can never stop the service": hostile files sent to a real server process, over HTTP and through the
 * CLI. Before, a 20 KB file nested 10,000 levels deep was accepted, then took the process down while its chunk was
 * serialised, and every restart resumed it and went down again.
 */

type JobJson = { id: string; status: string; summary?: Record<string, number>; status_details?: string }
type ReportEntry = { index: number; errors: { code: string; path: string; message: string }[] }

const processes = new RosterProcesses()
let workDir: string
let storeDir: string
let server: ServerProcess
let token: string
let connectionId: string

const deep = (levels: number, leaf = '1') => `${'{"a":'.repeat(levels)}${leaf}${'}'.repeat(levels)}`

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'roster-poison-'))
  storeDir = join(workDir, 'store')
  server = await processes.startServer(storeDir)
  const created = await processes.cliJson<{ token: string }>(storeDir, [
    'tokens',
    'create',
    '--name',
    'attacker',
    '--scopes',
    'create:users,read:users,read:connections',
  ])
  token = created.token
  const connections = await api<{ id: string; name: string }[]>('/connections')
  connectionId = connections.find((c) => c.name === defaultConnection)?.id ?? ''
}, 60_000)

afterAll(async () => {
  await processes.killAll()
  if (workDir) await rm(workDir, { recursive: true, force: true })
})

function upload(content: string | Uint8Array, name: string): Promise<Response> {
  const body = new FormData()
  body.append('users', new Blob([content]), name)
  body.append('connection_id', connectionId)
  return fetch(`http://127.0.0.1:${server.port}/api/v2/jobs/users-imports`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}` },
    body,
  })
}

async function api<T>(path: string): Promise<T> {
  const response = await fetch(`http://127.0.0.1:${server.port}/api/v2${path}`, {
    headers: { authorization: `Bearer ${token}` },
  })
  const text = await response.text()
  // GET /jobs/{id}/errors answers 204 without a body when there are none, as Auth0 does.
  return (text === '' ? [] : JSON.parse(text)) as T
}

async function settled(id: string): Promise<JobJson> {
  return poll(`job ${id} to settle`, async () => {
    const job = await api<JobJson>(`/jobs/${id}`)
    return job.status === 'completed' || job.status === 'failed' ? job : undefined
  })
}

/** Imports `content`, expecting it accepted, and returns the settled job and its error report. */
async function imported(content: string | Uint8Array, name: string) {
  const response = await upload(content, name)
  expect(response.status, await response.clone().text()).toBe(202)
  const job = await settled(((await response.json()) as JobJson).id)
  return { job, errors: await api<ReportEntry[]>(`/jobs/${job.id}/errors`) }
}

describe('files nested 10,000 levels deep', () => {
  const files: [string, string][] = [
    ['deep-array.json', `[${'['.repeat(10_000)}1${']'.repeat(10_000)}]`],
    ['deep.ndjson', `${deep(10_000)}\n`],
    ['deep-user.json', `[{"email":"a@x.test"},{"email":"b@x.test","user_metadata":${deep(10_000)}}]`],
    ['deep.csv', `email,user_metadata\nc@x.test,"${deep(10_000).replaceAll('"', '""')}"\n`],
  ]

  for (const [name, content] of files) {
    // The API takes an unparsable file as Auth0 does (202) and fails its job with the reason; nothing is stored.
    it(`fails ${name}'s job whole over HTTP, naming where, and keeps serving`, async () => {
      const { job, errors } = await imported(content, name)
      expect(job.status).toBe('failed')
      expect(job.status_details).toContain(`${name}`)
      expect(job.status_details).toContain('nests values deeper than 256 levels')
      expect(job.summary).toBeUndefined()
      expect(errors).toMatchObject({ status: 'failed' })
      expect((await server.health()).ok).toBe(true)
    })
  }

  it('refuses them through the CLI too, with the same message, and the server keeps serving', async () => {
    const file = join(workDir, 'deep.ndjson')
    await writeFile(file, `{"email":"ok@x.test"}\n${deep(10_000)}\n`)
    const result = await processes.runCli(storeDir, [
      'import',
      file,
      '--connection',
      defaultConnection,
      '--wait',
    ])
    expect(result.code).toBe(1)
    expect(result.stderr).toContain('deep.ndjson nests values deeper than 256 levels at line 2')
    expect(result.stderr).toContain('(user 2)')
    expect((await server.health()).ok).toBe(true)
  })
})

describe('a user over a limit fails alone', () => {
  it('imports the other users of its chunk and reports MAX_DEPTH with the path', async () => {
    const { job, errors } = await imported(
      JSON.stringify([
        { email: 'before@x.test' },
        { email: 'deep@x.test', user_metadata: JSON.parse(deep(40)) },
        { email: 'after@x.test', user_metadata: JSON.parse(deep(31)) },
      ]),
      'one-deep.json',
    )
    expect(job).toMatchObject({ status: 'completed', summary: { inserted: 2, failed: 1, total: 3 } })
    expect(errors.map((e) => [e.index, e.errors.map((x) => `${x.code} ${x.path}`)])).toEqual([
      [1, [`MAX_DEPTH user_metadata${'.a'.repeat(32)}`]],
    ])
    expect((await server.health()).ok).toBe(true)
  })

  it('reports a number JSON cannot hold, a long user_id, a javascript: picture and an absurd scrypt cost', async () => {
    const scrypt = {
      algorithm: 'scrypt',
      hash: { value: Buffer.alloc(32, 7).toString('base64'), encoding: 'base64' },
      keylen: 32,
      cost: 2 ** 40,
    }
    const { job, errors } = await imported(
      [
        '{"email":"big@x.test","user_metadata":{"n":1e400}}',
        `{"email":"id@x.test","user_id":"${'x'.repeat(256)}"}`,
        '{"email":"pic@x.test","picture":"javascript:alert(1)"}',
        `{"email":"cost@x.test","custom_password_hash":${JSON.stringify(scrypt)}}`,
        '{"email":"fine@x.test","picture":"https://example.com/a.png","user_id":"abc"}',
      ].join('\n'),
      'limits.ndjson',
    )
    expect(job.summary).toMatchObject({ inserted: 1, failed: 4 })
    expect(errors.map((e) => e.errors.map((x) => `${x.code} ${x.path}`))).toEqual([
      ['INVALID_TYPE user_metadata.n'],
      ['MAX_LENGTH user_id'],
      ['INVALID_FORMAT picture'],
      ['MAXIMUM custom_password_hash.cost'],
    ])
  })
})

describe('prototype keys', () => {
  it('are refused with the same error in JSON, NDJSON and CSV, and create nothing', async () => {
    const json = await imported(
      '[{"__proto__":{"email":"p@x.test"}},{"email":"q@x.test","__proto__":{"app_metadata":{"roles":["admin"]}}}]',
      'proto.json',
    )
    const ndjson = await imported(
      '{"email":"r@x.test","user_metadata":{"constructor":{"x":1}}}\n{"email":"s@x.test","app_metadata":{"prototype":1}}\n',
      'proto.ndjson',
    )
    const csv = await imported('email,user_metadata.__proto__.x\nt@x.test,1\n', 'proto.csv')
    const codes = [json, ndjson, csv].flatMap(({ errors }) =>
      errors.map((e) => e.errors.map((x) => `${x.code} ${x.path}`)),
    )
    expect(codes).toEqual([
      ['RESERVED_KEY __proto__', 'OBJECT_MISSING_REQUIRED_PROPERTY email'],
      ['RESERVED_KEY __proto__'],
      ['RESERVED_KEY user_metadata.constructor'],
      ['RESERVED_KEY app_metadata.prototype'],
      ['RESERVED_KEY user_metadata.__proto__.x'],
    ])
    const messages = new Set(
      [json, ndjson, csv].flatMap(({ errors }) =>
        errors.flatMap((e) =>
          e.errors
            .filter((x) => x.code === 'RESERVED_KEY')
            .map((x) => x.message.split(' - ')[1]?.replace(/"[^"]+"/, '"…"')),
        ),
      ),
    )
    // One wording everywhere (the key named), so a person sees the same refusal whatever the route.
    expect([...messages]).toEqual([
      'Key "…" is reserved (__proto__, constructor and prototype cannot be field names); rename it',
    ])
    for (const email of ['p@x.test', 'q@x.test', 'r@x.test', 's@x.test', 't@x.test']) {
      expect(await api<unknown[]>(`/users-by-email?email=${encodeURIComponent(email)}`)).toEqual([])
    }
  })
})

describe('encoding', () => {
  it('fails an invalid UTF-8 file whole, naming the byte offset, gzipped or not', async () => {
    const bytes = Buffer.concat([
      Buffer.from('[{"email":"caf'),
      Buffer.from([0xe9]),
      Buffer.from('@x.test"}]'),
    ])
    for (const [content, name, where] of [
      [bytes, 'latin1.json', 'byte 14 (0xe9)'],
      [gzipSync(bytes), 'latin1.json.gz', 'unpacked byte 14 (0xe9)'],
    ] as const) {
      const { job } = await imported(content, name)
      expect(job.status).toBe('failed')
      expect(job.status_details).toContain(`${name} is not valid UTF-8: ${where}`)
    }
  })
})

describe('recovery', () => {
  /** Edits a job's record in the stopped server's catalog, as a crash at the right moment would have left it. */
  async function editJob(id: string, change: (job: Record<string, unknown>) => void): Promise<void> {
    const file = join(storeDir, 'catalog.json')
    const catalog = JSON.parse(await readFile(file, 'utf8')) as { jobs: Record<string, unknown>[] }
    const job = catalog.jobs.find((j) => j.id === id)
    if (!job) throw new Error(`no job ${id} to edit`)
    change(job)
    await writeFile(file, JSON.stringify(catalog))
  }

  /** The job as if the process had died in its run: `processing`, no outcome, the attempt marker a run writes. */
  const interrupted = (attempt: { count: number; chunks: number }) => (job: Record<string, unknown>) => {
    job.status = 'processing'
    delete job.finishedAt
    delete job.summary
    job.attempt = attempt
  }

  it('sets aside a job that stopped the process twice in a row, and keeps serving', async () => {
    const { job } = await imported('[{"email":"quarantine@x.test"}]', 'quarantine.json')
    expect(job.status).toBe('completed')
    await server.stop()
    const id = job.id
    await editJob(id, interrupted({ count: 2, chunks: 1 }))
    server = await processes.startServer(storeDir)
    const failed = await settled(id)
    expect(failed.status).toBe('failed')
    expect(failed.status_details).toContain('Roster stopped 2 times in a row while running this job')
    expect((await server.health()).ok).toBe(true)
    const record = (await readCatalog(storeDir)).jobs.find((j) => j.id === id)
    expect(record).toMatchObject({ status: 'failed' })
    expect(record?.attempt).toBeUndefined()
  })

  it('runs again a job that stopped the process once, or that committed since it last did', async () => {
    const first = await imported('[{"email":"once@x.test"}]', 'once.json')
    const second = await imported('[{"email":"progress@x.test"}]', 'progress.json')
    await server.stop()
    await editJob(first.job.id, interrupted({ count: 1, chunks: 1 }))
    // Its one chunk was committed after the marker was written: the run made progress before it stopped.
    await editJob(second.job.id, interrupted({ count: 2, chunks: 0 }))
    server = await processes.startServer(storeDir)
    for (const id of [first.job.id, second.job.id]) {
      expect(await settled(id)).toMatchObject({ status: 'completed', summary: { inserted: 1 } })
    }
    // A completed import is announced before its record is on disk (its outcome is in the journal already): the
    // file catches up a moment later.
    const attempts = async () =>
      (await readCatalog(storeDir)).jobs
        .filter((j) => [first.job.id, second.job.id].includes(j.id))
        .map((r) => r.attempt)
    await poll('the settled records on disk', async () =>
      (await attempts()).every((attempt) => attempt === undefined) ? true : undefined,
    )
    expect(await attempts()).toEqual([undefined, undefined])
  })
})
