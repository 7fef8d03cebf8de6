import { spawn } from 'node:child_process'
import { closeSync, openSync, readFileSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { seedRows, toJsonArray } from '../support/generate-users.ts'
import { openHarness } from '../support/roster-harness.ts'
import { defaultConnection, RosterProcesses, repoRoot } from '../support/roster-process.ts'
import { tempDir } from '../support/temp-dir.ts'

/**
 * `roster import <file> --split`: a file larger than IMPORT_MAX_BYTES imported in parts by the real CLI process
 * (no server: the CLI opens the store and runs the jobs itself). IMPORT_MAX_BYTES is small, so a 300-user file
 * needs several parts. Each CLI start costs about a second; the last test also starts a server.
 */

const maxBytes = 20_000
const goodUsers = 300
const rows = [
  ...seedRows(goodUsers),
  { email: 'not-an-email' },
  { email: 'extra@example.com', colour: 'teal' },
]

interface Run {
  code: number | null
  stdout: string
  stderr: string
}

async function cli(dir: string, storeDir: string, args: string[]): Promise<Run> {
  // stdout to a file, not a pipe: the CLI exits right after writing, and a pipe may not have taken it all.
  const stdoutFile = join(dir, `stdout-${Date.now()}-${Math.random()}.txt`)
  const fd = openSync(stdoutFile, 'w')
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/adapters/cli/main.ts', ...args], {
    cwd: repoRoot,
    env: {
      STORE_DIR: storeDir,
      IMPORT_MAX_BYTES: String(maxBytes),
      LOG_LEVEL: 'silent',
      ...(process.env.PATH ? { PATH: process.env.PATH } : {}),
      ...(process.env.HOME ? { HOME: process.env.HOME } : {}),
    },
    stdio: ['ignore', fd, 'pipe'],
  })
  closeSync(fd)
  let stderr = ''
  child.stderr?.setEncoding('utf8').on('data', (text: string) => {
    stderr += text
  })
  const timer = setTimeout(() => child.kill('SIGKILL'), 25_000)
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve))
  clearTimeout(timer)
  return { code, stdout: readFileSync(stdoutFile, 'utf8'), stderr }
}

const processes = new RosterProcesses()
afterEach(async () => {
  await processes.killAll()
})

let dir: string
let file: string
// tempDir folders are removed after each test.
beforeEach(async () => {
  dir = await tempDir('roster-cli-split-')
  file = join(dir, 'big.json')
  await writeFile(file, toJsonArray(rows))
})

describe('import --split', () => {
  it('imports a file over IMPORT_MAX_BYTES in parts and sums their summaries', async () => {
    const text = readFileSync(file)
    expect(text.byteLength).toBeGreaterThan(3 * maxBytes)
    const storeDir = join(dir, 'store-split')
    const args = ['import', file, '--split', '--connection', defaultConnection, '--wait', '--json']
    const run = await cli(dir, storeDir, args)
    expect(run.stderr).toBe('')
    // 4: the import completed, and the two bad users failed.
    expect(run.code).toBe(4)
    const output = JSON.parse(run.stdout) as {
      users: number
      parts: {
        part: number
        of: number
        file: string
        first_row: number
        rows: number
        job: Record<string, unknown>
      }[]
      summary: Record<string, number>
    }
    expect(output.users).toBe(goodUsers + 2)
    expect(output.summary).toEqual({
      inserted: goodUsers,
      updated: 0,
      unchanged: 0,
      failed: 2,
      total: goodUsers + 2,
    })
    const parts = output.parts
    expect(parts.length).toBeGreaterThanOrEqual(4)
    expect(parts.map((p) => p.file)).toEqual(
      parts.map(
        (p) =>
          `big.part-${String(p.part).padStart(2, '0')}-of-${String(parts.length).padStart(2, '0')}.ndjson`,
      ),
    )
    // Consecutive, in file order, each an ordinary completed import with the file's name as external_id.
    expect(parts.map((p) => p.first_row)).toEqual(
      parts.map((_, i) => parts.slice(0, i).reduce((n, p) => n + p.rows, 0)),
    )
    for (const part of parts) {
      expect(part.job).toMatchObject({ type: 'users_import', status: 'completed', external_id: 'big.json' })
    }

    const h = await openHarness({}, storeDir)
    try {
      expect(await h.engine.countUsers()).toBe(goodUsers)
      const sizes = h.engine.listJobs(100).map((job) => (job.type === 'users_import' ? job.upload.bytes : 0))
      expect(Math.max(...sizes)).toBeLessThanOrEqual(maxBytes)
    } finally {
      await h.close()
    }
  })

  it("without --split, refuses the file with Auth0's 413 message and points to --split", async () => {
    const run = await cli(dir, join(dir, 'store-plain'), [
      'import',
      file,
      '--connection',
      defaultConnection,
      '--wait',
    ])
    expect(run.code).toBe(1)
    expect(run.stderr).toContain(
      `roster: Payload content length greater than maximum allowed: ${maxBytes}.\n`,
    )
    expect(run.stderr).toContain('add --split to import it in consecutive parts')
  })

  it('sends the parts to the server holding the store, which imports them in file order', async () => {
    // More parts than the CLI keeps waiting at once (16), so it also waits for earlier parts before sending more.
    const many = [...seedRows(1_500), ...rows.slice(goodUsers)]
    await writeFile(file, toJsonArray(many))
    const storeDir = join(dir, 'store-server')
    const env = { IMPORT_MAX_BYTES: String(maxBytes) }
    await processes.startServer(storeDir, { env })
    const args = ['import', file, '--split', '--connection', defaultConnection, '--wait', '--json']
    const run = await processes.runCli(storeDir, args, { env, timeoutMs: 60_000 })
    expect(run.stderr).toBe('')
    expect(run.code).toBe(4)
    const output = JSON.parse(run.stdout) as {
      parts: { part: number; first_row: number; rows: number; job: Record<string, unknown> }[]
      summary: Record<string, number>
    }
    expect(output.parts.length).toBeGreaterThan(16)
    expect(output.summary).toMatchObject({ inserted: 1_500, failed: 2, total: 1_502 })
    expect(output.parts.map((p) => p.first_row)).toEqual(
      output.parts.map((_, i) => output.parts.slice(0, i).reduce((n, p) => n + p.rows, 0)),
    )
    for (const part of output.parts) expect(part.job).toMatchObject({ status: 'completed' })
    const count = await processes.runCli(storeDir, ['users', 'count', '--json'], { env })
    expect(JSON.parse(count.stdout)).toMatchObject({ count: 1_500 })
  })
})
