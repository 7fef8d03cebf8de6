import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { CallLog, type CallPredicate } from './call-log.ts'
import { Faults } from './faults.ts'
import { createFile, recordShare } from './files.ts'
import { latestView } from './methods-views.ts'
import { type ConversationMessage, conversationOf, transcriptOf } from './render.ts'
import { createRequestHandler } from './routes.ts'
import { SocketModeHub } from './socket-mode.ts'
import type { EmulatorCall, Fault, SlackChannel, SlackFile, SlackUser, SlackView } from './types.ts'
import type { Violation } from './violations.ts'
import { Workspace } from './workspace.ts'

export interface SlackEmulatorOptions {
  /** The only bot token the Web API and file downloads accept. Defaults to `xoxb-roster-test`. */
  botToken?: string
  /** The app-level token `apps.connections.open` requires (Socket Mode). Defaults to `xapp-1-A0ROSTER-test`. */
  appToken?: string
  /** What the driver signs requests with. Defaults to `roster-test-signing-secret`. */
  signingSecret?: string
  /** Defaults to `T0ROSTER`. */
  teamId?: string
  /** Defaults to `roster-test`. */
  teamDomain?: string
  /** The bot's user id (`auth.test` answers it). Defaults to `U0ROSTER`. */
  botUserId?: string
  /** Defaults to `B0ROSTER`. */
  botId?: string
  /** Defaults to `A0ROSTER`. */
  appId?: string
  /** Channels that exist; the first is the driver's default. Defaults to `[{ id: 'C0GENERAL', name: 'general' }]`. */
  channels?: { id: string; name: string }[]
  /** People in the workspace; the first is the driver's default. Defaults to `[{ id: 'U0TESTER', name: 'tester' }]`. */
  users?: SlackUser[]
}

export interface AddFileInput {
  name: string
  content: string | Buffer
  /** Defaults from the extension: `.json` → `application/json`, `.csv` → `text/csv`, … */
  mimetype?: string
  /** Who uploaded it. Defaults to the default user. */
  user?: string
  /** When set, the file is shared there by a `file_share` message from `user` (with `text`, in `threadTs`). */
  channel?: string
  threadTs?: string
  text?: string
}

export interface SlackEmulator {
  /** `http://127.0.0.1:<port>` */
  readonly baseUrl: string
  /** `http://127.0.0.1:<port>/api/`: give it to the app as `clientOptions.slackApiUrl`. */
  readonly apiUrl: string
  /** `http://127.0.0.1:<other port>`: the file CDN `url_private_download` redirects to (another origin). */
  readonly cdnUrl: string
  readonly botToken: string
  readonly appToken: string
  readonly signingSecret: string
  readonly teamId: string
  readonly teamDomain: string
  readonly botUserId: string
  readonly botId: string
  readonly appId: string
  readonly defaultChannel: SlackChannel
  readonly defaultUser: SlackUser
  /** Every request answered, in order (Web API methods, `upload`, `download`, `response_url`, `socket_ack`, `socket_close`). */
  readonly calls: readonly EmulatorCall[]
  /** The state behind the API, for assertions the helpers below do not cover. */
  readonly workspace: Workspace
  readonly socketMode: SocketModeHub
  /** Resolves with the first call of `method` (past or future) matching `predicate`; rejects listing the calls seen. */
  waitFor(method: string, predicate?: CallPredicate, timeoutMs?: number): Promise<EmulatorCall>
  callsOf(method: string): EmulatorCall[]
  /** The next `times` calls of `method` (or `upload`, `download`, `response_url`) get `fault`. */
  failNext(method: string, fault: Fault, times?: number): void
  /** A whole outage: every request's connection is destroyed and Socket Mode connections are dropped. */
  setDown(down: boolean): void
  addChannel(id: string, name?: string): SlackChannel
  addUser(user: SlackUser): SlackUser
  /** A file uploaded by a person, served at its `url_private(_download)` to the bot token only. */
  addFile(input: AddFileInput): SlackFile
  fileContent(fileId: string): Buffer | undefined
  /** The channel's messages with their threads, in order. Defaults to the default channel. */
  conversation(channel?: string): ConversationMessage[]
  /** The conversation as readable text, for the demo and for failure messages. */
  transcript(channel?: string): string
  /** The most recently opened view that is still open, of `user` if given. */
  latestView(user?: string): SlackView | undefined
  /**
   * Every Slack rule the app broke so far (a limit, a required argument, a retry before Retry-After, a token sent
   * to the file CDN, a spent response_url or trigger). Calls that broke one were refused as Slack refuses them.
   */
  readonly violations: readonly Violation[]
  /** Returns the violations and forgets them: for tests that break a rule on purpose. */
  takeViolations(): Violation[]
  /**
   * Stops the emulator, then rejects listing the violations if any were recorded and not taken: every test and
   * the demo that closes its emulator fails when the app sent Slack something Slack would refuse.
   */
  close(): Promise<void>
}

export async function startSlackEmulator(options: SlackEmulatorOptions = {}): Promise<SlackEmulator> {
  const botToken = options.botToken ?? 'xoxb-roster-test'
  const appToken = options.appToken ?? 'xapp-1-A0ROSTER-test'
  const appId = options.appId ?? 'A0ROSTER'
  const server = createServer()
  // The file CDN listens on a port of its own: another origin, so fetch and Roster must not send the token there.
  const cdn = createServer()
  const listen = (s: typeof server) =>
    new Promise<string>((resolve, reject) => {
      s.once('error', reject)
      s.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(s.address() as AddressInfo).port}`))
    })
  const baseUrl = await listen(server)
  const cdnBaseUrl = await listen(cdn)
  const ws = new Workspace({
    cdnBaseUrl,
    teamId: options.teamId ?? 'T0ROSTER',
    teamDomain: options.teamDomain ?? 'roster-test',
    botUserId: options.botUserId ?? 'U0ROSTER',
    botId: options.botId ?? 'B0ROSTER',
    appId,
    baseUrl,
  })
  const channels = (options.channels ?? [{ id: 'C0GENERAL', name: 'general' }]).map((c) =>
    ws.addChannel(c.id, c.name),
  )
  const users = (options.users ?? [{ id: 'U0TESTER', name: 'tester' }]).map((u) => ws.addUser(u))
  const defaultChannel = channels[0] ?? ws.addChannel('C0GENERAL', 'general')
  const defaultUser = users[0] ?? ws.addUser({ id: 'U0TESTER', name: 'tester' })
  const log = new CallLog()
  const faults = new Faults()
  const socket = new SocketModeHub({ appId, log, isDown: () => faults.down })
  socket.baseUrl = baseUrl
  const handle = createRequestHandler({ ws, log, faults, socket, botToken, appToken })
  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    handle(req, res).catch((error: unknown) => {
      if (res.headersSent) res.destroy()
      else {
        res.writeHead(500, { 'content-type': 'text/plain' })
        res.end(`emulator error: ${error instanceof Error ? error.stack : String(error)}`)
      }
    })
  }
  server.on('request', onRequest)
  cdn.on('request', onRequest)
  server.on('upgrade', (req, sock, head) => socket.handleUpgrade(req, sock, head))

  const nameOf = (id: string) => ws.users.get(id)?.name ?? id
  return {
    baseUrl,
    apiUrl: `${baseUrl}/api/`,
    cdnUrl: cdnBaseUrl,
    botToken,
    appToken,
    signingSecret: options.signingSecret ?? 'roster-test-signing-secret',
    teamId: ws.config.teamId,
    teamDomain: ws.config.teamDomain,
    botUserId: ws.config.botUserId,
    botId: ws.config.botId,
    appId,
    defaultChannel,
    defaultUser,
    calls: log.calls,
    workspace: ws,
    socketMode: socket,
    waitFor: (method, predicate, timeoutMs) => log.waitFor(method, predicate, timeoutMs),
    callsOf: (method) => log.calls.filter((c) => c.method === method),
    failNext: (method, fault, times) => faults.failNext(method, fault, times),
    setDown(down) {
      faults.down = down
      if (down) socket.dropAll()
    },
    addChannel: (id, name) => ws.addChannel(id, name),
    addUser: (user) => ws.addUser(user),
    addFile(input) {
      const user = input.user ?? defaultUser.id
      const bytes = typeof input.content === 'string' ? Buffer.from(input.content, 'utf8') : input.content
      const file = createFile(ws, {
        name: input.name,
        user,
        bytes,
        ...(input.mimetype ? { mimetype: input.mimetype } : {}),
      })
      if (input.channel) {
        const channel = ws.addChannel(input.channel)
        const stored = ws.post({
          channel: channel.id,
          user,
          text: input.text ?? '',
          threadTs: input.threadTs,
          subtype: 'file_share',
          files: [file],
        })
        recordShare(ws, file, channel.id, stored.message.ts, stored.message.thread_ts, user)
      }
      return file
    },
    fileContent: (fileId) => ws.files.get(fileId)?.bytes,
    conversation: (channel = defaultChannel.id) => conversationOf(ws.messages(channel)),
    transcript(channel = defaultChannel.id) {
      const title = `#${ws.channels.get(channel)?.name ?? channel} (${channel})`
      return transcriptOf(title, conversationOf(ws.messages(channel)), nameOf)
    },
    latestView: (user) => latestView(ws, user)?.view,
    get violations() {
      return ws.violations.all()
    },
    takeViolations: () => ws.violations.take(),
    async close() {
      await socket.closeAll()
      for (const s of [server, cdn]) {
        s.closeAllConnections()
        await new Promise<void>((resolve) => s.close(() => resolve()))
      }
      if (ws.violations.all().length > 0)
        throw new Error(
          `The app broke Slack's rules; real Slack would have refused these calls:\n${ws.violations.describe()}`,
        )
    },
  }
}
