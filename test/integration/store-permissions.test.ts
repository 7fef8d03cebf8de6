import { chmod, lstat, readdir, readFile, writeFile } from 'node:fs/promises'
import { join, relative } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { executeCommand } from '../../src/adapters/cli/commands.ts'
import { loadConfig } from '../../src/config.ts'
import { createLogger, silentLogger } from '../../src/logger.ts'
import { openRoster, type Roster } from '../../src/roster.ts'
import { type RunningServer, startServer } from '../../src/server.ts'
import { FixedClock } from '../support/clock-and-ids.ts'
import { poll } from '../support/roster-process.ts'
import { tempDir } from '../support/temp-dir.ts'

/**
 * Store files hold password hashes, TOTP secrets and tokens. Every file Roster creates is 0600 and every folder 0700
 * from its first byte, whatever the umask: the tests run with umask 000, under which a file opened without an
 * explicit mode would be 0666 and a folder 0777.
 */

let umask: number
beforeAll(() => {
  umask = process.umask(0o000)
})
afterAll(() => {
  process.umask(umask)
})

let roster: Roster | undefined
let server: RunningServer | undefined
afterEach(async () => {
  await server?.close()
  server = undefined
  roster = undefined
})

/** Every path under `root` (root included) whose permission bits are not 0600 for a file, 0700 for a folder. */
async function loosePaths(root: string): Promise<string[]> {
  const loose: string[] = []
  const pending = [root]
  for (let path = pending.pop(); path !== undefined; path = pending.pop()) {
    const stats = await lstat(path)
    const mode = stats.mode & 0o777
    const wanted = stats.isDirectory() ? 0o700 : 0o600
    if (mode !== wanted) loose.push(`${relative(root, path) || '.'} ${mode.toString(8)}`)
    if (stats.isDirectory()) for (const name of await readdir(path)) pending.push(join(path, name))
  }
  return loose.sort()
}

async function allPaths(root: string): Promise<string[]> {
  const found: string[] = []
  const pending = [root]
  for (let path = pending.pop(); path !== undefined; path = pending.pop()) {
    found.push(relative(root, path))
    if ((await lstat(path)).isDirectory())
      for (const name of await readdir(path)) pending.push(join(path, name))
  }
  return found
}

describe('private by default', () => {
  it('creates every store file 0600 and folder 0700 through import, export, email outbox, compaction and backup', async () => {
    const storeDir = join(await tempDir(), 'store')
    const config = loadConfig({ STORE_DIR: storeDir, PORT: '0', TENANT_OWNERS: 'owner@example.com' })
    roster = await openRoster(config, { logger: silentLogger, clock: new FixedClock() })
    server = await startServer(roster, config, silentLogger)
    const { token } = (await executeCommand(roster.engine, {
      name: 'tokens-create',
      tokenName: 'perms',
      scopes: ['create:users', 'read:users'],
    })) as { token: string }
    const connectionId = roster.engine.listConnections()[0]?.id as string

    const body = new FormData()
    body.append('connection_id', connectionId)
    body.append('send_completion_email', 'true')
    const users = [
      {
        email: 'a@example.com',
        password_hash: '$2b$10$C9hB01.YxRSTcn/ZOOo4j.TW7xCKKFKBSF.C7E0xiUwumqIDqWUXG',
      },
      { email: 'bad' },
    ]
    body.append('users', new Blob([JSON.stringify(users)], { type: 'application/json' }), 'users.json')
    const base = `http://127.0.0.1:${server.port}/api/v2`
    const response = await fetch(`${base}/jobs/users-imports`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
      body,
    })
    expect(response.status).toBe(202)
    const { id } = (await response.json()) as { id: string }
    await roster.engine.waitFor(id)
    const exported = await roster.engine.requestExport({
      format: 'json',
      gzip: true,
      requestedBy: { via: 'cli', id: 'tester' },
    })
    await roster.engine.waitFor(exported.id)
    await poll('the completion email in the outbox', async () => {
      const names = await readdir(join(storeDir, 'outbox')).catch(() => [] as string[])
      return names.some((name) => name.endsWith('.eml')) ? true : undefined
    })
    await roster.engine.ctx.maintenance?.compact()
    await roster.engine.runBackup()
    await server.close()
    server = undefined

    const paths = await allPaths(storeDir)
    for (const expected of ['users', 'jobs', 'outbox', 'backups', 'catalog.json', 'audit.jsonl']) {
      expect(paths).toContain(expected)
    }
    expect(paths.some((path) => /^users\/journal-\d+\.jsonl$/.test(path))).toBe(true)
    expect(paths.some((path) => path.startsWith('users/snapshot'))).toBe(true)
    expect(paths.some((path) => path.startsWith(`jobs/${id}/`))).toBe(true)
    expect(paths.some((path) => path.startsWith('backups/') && path.endsWith('.json.gz'))).toBe(true)
    expect(await loosePaths(storeDir)).toEqual([])
  })

  it('tightens what an older Roster left open when it starts, and says so in the log', async () => {
    const storeDir = join(await tempDir(), 'store')
    const config = loadConfig({ STORE_DIR: storeDir })
    roster = await openRoster(config, { logger: silentLogger, clock: new FixedClock() })
    roster.engine.start()
    const job = await roster.engine.requestImport({
      connection: 'Username-Password-Authentication',
      fileName: 'users.json',
      bytes: Buffer.from(JSON.stringify([{ email: 'a@example.com' }])),
      options: { upsert: false, merge: false, dryRun: false, sendCompletionEmail: false },
      requestedBy: { via: 'cli', id: 'tester' },
    })
    await roster.engine.waitFor(job.id)
    await roster.close()
    roster = undefined
    const journal = (await readdir(join(storeDir, 'users'))).find((name) => name.startsWith('journal-'))
    await chmod(join(storeDir, 'users', journal as string), 0o644)
    await chmod(join(storeDir, 'users'), 0o755)
    await chmod(storeDir, 0o755)
    await writeFile(join(storeDir, 'notes.txt'), 'left by hand', { mode: 0o666 })
    expect(await loosePaths(storeDir)).toHaveLength(4)

    const lines: string[] = []
    roster = await openRoster(config, { logger: createLogger('info', (line) => lines.push(line)) })
    expect(await loosePaths(storeDir)).toEqual([])
    const entry = lines
      .map((line) => JSON.parse(line))
      .find((e) => e.msg.startsWith('store permissions tightened'))
    expect(entry).toMatchObject({ level: 'warn', count: 4 })
    expect(entry.paths).toEqual(expect.arrayContaining(['.', 'users', `users/${journal}`, 'notes.txt']))
    expect(await readFile(join(storeDir, 'notes.txt'), 'utf8')).toBe('left by hand')
    await roster.close()
  })
})
