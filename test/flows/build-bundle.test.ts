import { execFile, spawn } from 'node:child_process'
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { Worker } from 'node:worker_threads'
import { beforeAll, describe, expect, it } from 'vitest'
import { freePort } from '../support/postgres-cluster.ts'

/**
 * `npm run build` (scripts/build.ts) and what it makes: the bundle a production replica runs (`npm run
 * start:built`). It must serve, and its import worker thread must start as plain JavaScript beside it: run from the
 * sources the worker is TypeScript behind a tsx bootstrap, which the bundle does not have.
 */

const root = join(import.meta.dirname, '..', '..')
const dist = join(root, 'dist')

beforeAll(async () => {
  await promisify(execFile)(process.execPath, ['--import', 'tsx', 'scripts/build.ts'], { cwd: root })
}, 120_000)

describe('npm run build', () => {
  it("bundles the import worker as dist/import-worker.js, which reads a file as the sources' worker does", async () => {
    const worker = new Worker(join(dist, 'import-worker.js'))
    try {
      const answers: { type: string; count?: number }[] = []
      await new Promise<void>((resolve, reject) => {
        worker.on('error', reject)
        worker.on('message', (answer: { type: string; count?: number }) => {
          answers.push(answer)
          if (answer.type === 'ready') {
            const bytes = new Uint8Array(
              Buffer.from('[{"email":"ada@example.com"},{"email":"grace@example.com"}]'),
            )
            worker.postMessage({ id: 1, fileName: 'users.json', bytes, maxBytes: 512_000 })
          } else resolve()
        })
      })
      expect(answers.map((answer) => answer.type)).toEqual(['ready', 'parsed'])
      expect(answers[1]?.count).toBe(2)
    } finally {
      await worker.terminate()
    }
  })

  it('loads the worker from beside the chunk that starts it', async () => {
    const chunks = (await readdir(dist)).filter((name) => name.endsWith('.js'))
    const loaders = []
    for (const name of chunks)
      if ((await readFile(join(dist, name), 'utf8')).includes('"./import-worker.js", import.meta.url'))
        loaders.push(name)
    // One chunk starts the worker, and it sits in dist/ itself, so './import-worker.js' is the file built above.
    expect(loaders).toHaveLength(1)
  })

  it('serves from dist/main.js', async () => {
    const storeDir = await mkdtemp(join(tmpdir(), 'roster-built-'))
    const port = await freePort()
    const server = spawn(process.execPath, [join(dist, 'main.js')], {
      env: { PATH: process.env.PATH, STORE_DIR: storeDir, PORT: String(port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    try {
      let log = ''
      for (const stream of [server.stdout, server.stderr])
        stream.on('data', (chunk) => {
          log += chunk
        })
      await expect
        .poll(
          async () => {
            const answer = await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined)
            return answer?.status
          },
          { timeout: 30_000, interval: 100 },
        )
        .toBe(200)
      // Logged once listening, as /healthz starts to answer: its line may reach the pipe a moment after.
      await expect.poll(() => log, { timeout: 10_000, interval: 50 }).toContain('Roster is running')
    } finally {
      server.kill('SIGTERM')
      await new Promise((resolve) => server.once('exit', resolve))
      await rm(storeDir, { recursive: true, force: true })
    }
  })
})
