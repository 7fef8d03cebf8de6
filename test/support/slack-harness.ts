import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { SlackTuning } from '../../src/adapters/slack/start-slack.ts'
import { loadConfig } from '../../src/config.ts'
import type { Role } from '../../src/domain/access/roles.ts'
import { silentLogger } from '../../src/logger.ts'
import { openRoster, type Roster } from '../../src/roster.ts'
import { type RunningServer, startServer } from '../../src/server.ts'
import { poll } from './roster-process.ts'
import { createSlackDriver, type SlackDriver } from './slack/driver.ts'
import { type SlackEmulator, type SlackEmulatorOptions, startSlackEmulator } from './slack/emulator.ts'
import { createSocketModeDriver, type SocketModeDriver } from './slack/socket-driver.ts'
import type { EmulatorCall } from './slack/types.ts'

/** Bootstrapped through `SLACK_ADMINS`: an admin whatever access.json says. */
export const slackAdmin = 'UADMIN1'

export interface SlackHarness {
  emulator: SlackEmulator
  /** Sends signed requests to the server's `/slack/events`. */
  driver: SlackDriver
  /** Sends envelopes over the emulator's Socket Mode WebSocket (with `socketMode: true`). */
  socket: SocketModeDriver
  server: RunningServer
  roster: Roster
  storeDir: string
  /** Writes `STORE_DIR/access.json`: these users get these roles (everyone else has none but `slackAdmin`). */
  setRoles(roles: Record<string, Role>): Promise<void>
  /** The job → thread registry as the server persisted it. */
  threads(): Promise<Record<string, { channel: string; ts: string; user: string }>>
  /**
   * One job's thread as persisted, waiting (up to 5 s) for it to be written: the registry is linked in memory
   * first and saved just after, so a test that has seen the message can be a moment ahead of the file.
   */
  thread(jobId: string): Promise<{ channel: string; ts: string; user: string }>
  close(): Promise<void>
}

export interface SlackHarnessOptions {
  /** Extra environment for `loadConfig` (e.g. `IMPORT_MAX_BYTES`). */
  env?: Record<string, string>
  emulator?: SlackEmulatorOptions
  /** Slack retry and notifier timings (fault tests: a few retries, milliseconds apart). Production's when absent. */
  slack?: SlackTuning
  /** Socket Mode: `SLACK_APP_TOKEN` is set, and the harness waits until the app is connected to the emulator. */
  socketMode?: boolean
}

/** The environment of a Roster on `storeDir` talking to `emulator` (port 0, silent, no backups). */
export function slackEnv(emulator: SlackEmulator, storeDir: string): Record<string, string> {
  return {
    STORE_DIR: storeDir,
    PORT: '0',
    SLACK_BOT_TOKEN: emulator.botToken,
    SLACK_SIGNING_SECRET: emulator.signingSecret,
    SLACK_API_URL: emulator.apiUrl,
    SLACK_ADMINS: slackAdmin,
    LOG_LEVEL: 'silent',
    BACKUP_CRON: 'off',
  }
}

/**
 * Roster as `main.ts` runs it — config → store → engine → HTTP server with the Slack app — on a temp store and
 * port 0, with the Web API pointed at a fresh Slack emulator. Logs are silent; the store is removed on close.
 */
export async function openSlackHarness(options: SlackHarnessOptions = {}): Promise<SlackHarness> {
  const emulator = await startSlackEmulator(options.emulator)
  const storeDir = await mkdtemp(join(tmpdir(), 'roster-slack-'))
  try {
    const config = loadConfig({
      ...slackEnv(emulator, storeDir),
      ...(options.socketMode ? { SLACK_APP_TOKEN: emulator.appToken } : {}),
      ...options.env,
    })
    const roster = await openRoster(config, { logger: silentLogger })
    const server = await startServer(roster, config, silentLogger, {
      ...(options.slack ? { slack: options.slack } : {}),
    }).catch(async (error: unknown) => {
      await roster.close()
      throw error
    })
    if (options.socketMode)
      await emulator.socketMode.waitForConnection().catch(async (error: unknown) => {
        await server.close()
        throw error
      })
    const threads = async () => {
      try {
        return JSON.parse(await readFile(join(storeDir, 'slack-threads.json'), 'utf8')).threads
      } catch {
        return {}
      }
    }
    const driver = createSlackDriver({ emulator, appUrl: `http://127.0.0.1:${server.port}/slack/events` })
    return {
      emulator,
      driver,
      socket: createSocketModeDriver(emulator),
      server,
      roster,
      storeDir,
      async setRoles(roles) {
        await writeFile(join(storeDir, 'access.json'), `${JSON.stringify({ users: roles }, null, 2)}\n`)
      },
      threads,
      thread: (jobId) =>
        poll(`the thread of ${jobId} in slack-threads.json`, async () => (await threads())[jobId], {
          timeoutMs: 5_000,
        }),
      /** Rejects, after cleaning up, when Roster broke one of Slack's rules (see `SlackEmulator.close`). */
      async close() {
        try {
          await server.close()
          await emulator.close()
        } finally {
          await rm(storeDir, { recursive: true, force: true })
        }
      },
    }
  } catch (error) {
    await emulator.close()
    await rm(storeDir, { recursive: true, force: true })
    throw error
  }
}

/**
 * Slack goes down right after the emulator accepts a message starting with `text` (a thread's parent): what Roster
 * sends next waits in its outbox. Resolves with that message's call.
 */
export function slackDownAfterPost(emulator: SlackEmulator, text: string): Promise<EmulatorCall> {
  return emulator.waitFor('chat.postMessage', (args, call) => {
    if (call.ok !== true || !String(args.text).startsWith(text)) return false
    emulator.setDown(true)
    return true
  })
}
