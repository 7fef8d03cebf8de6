import { slackRules } from './limits.ts'
import { checkMessage } from './payload-rules.ts'
import {
  type Block,
  SlackApiError,
  type SlackChannel,
  type SlackFile,
  type SlackMessage,
  type SlackUser,
  type StoredMessage,
  type ViewRecord,
} from './types.ts'
import { SlackRuleError, Violations } from './violations.ts'

export interface WorkspaceConfig {
  teamId: string
  teamDomain: string
  botUserId: string
  botId: string
  appId: string
  /** `http://127.0.0.1:<port>`: file URLs, upload URLs and response URLs point here. */
  baseUrl: string
  /** `http://127.0.0.1:<other port>`: the file CDN a download redirects to, another origin than `baseUrl`. */
  cdnBaseUrl: string
}

export interface PostInput {
  channel: string
  user: string
  text: string
  blocks?: Block[] | undefined
  threadTs?: string | undefined
  /** Set for messages the app posts: Slack adds `bot_id` and `app_id`. */
  asBot?: boolean
  subtype?: string
  files?: SlackFile[]
  ephemeralTo?: string | undefined
}

/** Slack's trigger ids expire 3 s after the interaction that produced them. */
export const triggerTtlMs = slackRules.triggerTtlMs.max

/** The emulated workspace: channels, users, messages with threads, files with their bytes, views, triggers. */
export class Workspace {
  readonly channels = new Map<string, SlackChannel>()
  readonly users = new Map<string, SlackUser>()
  readonly files = new Map<string, { file: SlackFile; bytes?: Buffer }>()
  readonly views = new Map<string, ViewRecord>()
  readonly responseUrls = new Map<
    string,
    { channel: string; user: string; messageTs?: string; uses: number; issuedAtMs: number }
  >()
  /** Signed CDN paths handed out by download redirects: key → file id. */
  readonly cdnKeys = new Map<string, string>()
  /** Every Slack rule the app broke (limits, required arguments, early retries, tokens sent to the CDN). */
  readonly violations = new Violations()
  /** Files announced by `files.getUploadURLExternal`, until `files.completeUploadExternal` finishes them. */
  readonly uploads = new Map<string, { filename: string; length: number; bytes?: Buffer }>()
  private readonly history = new Map<string, StoredMessage[]>()
  private readonly triggers = new Map<string, { user: string; issuedAtMs: number; used: boolean }>()
  private readonly counters = new Map<string, number>()
  private lastMicros = 0

  constructor(readonly config: WorkspaceConfig) {
    this.addUser({ id: config.botUserId, name: 'roster', real_name: 'Roster', is_bot: true })
  }

  /** `F000000001`, `V000000002`…: Slack-looking ids, predictable within one emulator. */
  nextId(prefix: string): string {
    const n = (this.counters.get(prefix) ?? 0) + 1
    this.counters.set(prefix, n)
    return `${prefix}${String(n).padStart(9, '0')}`
  }

  /** A message timestamp `seconds.micros` from the wall clock, strictly increasing like Slack's. */
  nextTs(): string {
    this.lastMicros = Math.max(Date.now() * 1000, this.lastMicros + 1)
    return `${Math.floor(this.lastMicros / 1e6)}.${String(this.lastMicros % 1e6).padStart(6, '0')}`
  }

  addChannel(id: string, name?: string): SlackChannel {
    const existing = this.channels.get(id)
    if (existing) return existing
    const kind = id[0]
    const channel: SlackChannel = {
      id,
      name: name ?? (kind === 'D' ? id : `channel-${id.toLowerCase()}`),
      created: Math.floor(Date.now() / 1000),
      is_channel: kind === 'C',
      is_group: kind === 'G',
      is_im: kind === 'D',
      is_private: kind !== 'C',
    }
    this.channels.set(id, channel)
    return channel
  }

  addUser(user: SlackUser): SlackUser {
    const merged = { ...this.users.get(user.id), ...user }
    this.users.set(user.id, merged)
    return merged
  }

  /** A channel id, or a user id (`U…`/`W…`) meaning the DM with that user, as `chat.postMessage` allows. */
  resolveChannel(idOrUser: unknown): SlackChannel {
    if (typeof idOrUser !== 'string' || idOrUser === '') throw new SlackApiError('channel_not_found')
    if (/^[UW]/.test(idOrUser)) {
      const dm = this.addChannel(`D${idOrUser.slice(1)}`)
      dm.user = idOrUser
      return dm
    }
    const channel = this.channels.get(idOrUser)
    if (!channel) throw new SlackApiError('channel_not_found')
    return channel
  }

  post(input: PostInput): StoredMessage {
    const ts = this.nextTs()
    const message: SlackMessage = {
      type: 'message',
      ts,
      user: input.user,
      text: input.text,
      team: this.config.teamId,
    }
    if (input.blocks) message.blocks = this.withBlockIds(input.blocks)
    if (input.subtype) message.subtype = input.subtype
    if (input.files) Object.assign(message, { files: input.files, upload: true })
    if (input.asBot) Object.assign(message, { bot_id: this.config.botId, app_id: this.config.appId })
    if (input.threadTs) {
      const root = this.threadRoot(input.channel, input.threadTs)
      message.thread_ts = root.ts
      message.parent_user_id = root.user
      if (!input.ephemeralTo) {
        root.thread_ts = root.ts
        root.reply_count = (root.reply_count ?? 0) + 1
        root.reply_users = [...new Set([...(root.reply_users ?? []), input.user])]
        root.reply_users_count = root.reply_users.length
        root.latest_reply = ts
      }
    }
    const stored: StoredMessage = { channel: input.channel, message }
    if (input.ephemeralTo) stored.ephemeralTo = input.ephemeralTo
    this.messages(input.channel).push(stored)
    return stored
  }

  /** Slack gives every block without a `block_id` a generated one, in stored messages and views alike. */
  withBlockIds(blocks: Block[]): Block[] {
    return blocks.map((block) =>
      block.block_id === undefined ? { ...block, block_id: this.nextId('b') } : block,
    )
  }

  /** Every message of a channel in posting order, replies and ephemeral ones included. */
  messages(channel: string): StoredMessage[] {
    let list = this.history.get(channel)
    if (!list) {
      list = []
      this.history.set(channel, list)
    }
    return list
  }

  find(channel: string, ts: unknown): StoredMessage | undefined {
    return this.messages(channel).find((m) => m.message.ts === ts && !m.deleted)
  }

  /** The parent of a thread; a reply's ts stands for its parent's thread, as in Slack. */
  private threadRoot(channel: string, ts: string): SlackMessage {
    const hit = this.find(channel, ts)
    const rootTs = hit?.message.thread_ts ?? hit?.message.ts
    const root = rootTs === undefined ? undefined : this.find(channel, rootTs)
    // Slack may accept an unknown thread_ts silently; failing loudly catches a wrong parent in tests.
    if (!root || root.ephemeralTo) throw new SlackApiError('thread_not_found')
    return root.message
  }

  /**
   * What Slack shows for a `response_url` post or a command's ack body: an ephemeral message to the user (the
   * default), an `in_channel` message, or a change to the message the action came from.
   */
  applyResponse(
    target: { channel: string; user: string; messageTs?: string },
    body: Record<string, unknown>,
  ): void {
    const text = typeof body.text === 'string' ? body.text : ''
    checkMessage(body)
    const blocks = Array.isArray(body.blocks) ? (body.blocks as Block[]) : undefined
    const original = target.messageTs ? this.find(target.channel, target.messageTs) : undefined
    const flag = (key: string) => body[key] === true || body[key] === 'true'
    if (original && flag('delete_original')) {
      original.deleted = true
    } else if (original && flag('replace_original')) {
      original.message.text = text
      if (blocks) original.message.blocks = this.withBlockIds(blocks)
      else delete original.message.blocks
    } else {
      this.post({
        channel: target.channel,
        user: this.config.botUserId,
        text,
        blocks,
        threadTs: typeof body.thread_ts === 'string' ? body.thread_ts : undefined,
        asBot: true,
        ephemeralTo: body.response_type === 'in_channel' ? undefined : target.user,
      })
    }
  }

  issueTrigger(user: string): string {
    const n = this.nextId('T').slice(1)
    const id = `${Number(n)}.${Date.now()}.${Buffer.from(`${user}:${n}`).toString('hex').slice(0, 24)}`
    this.triggers.set(id, { user, issuedAtMs: Date.now(), used: false })
    return id
  }

  /** Exchanges a trigger id for the user it was issued to, failing as Slack does when it is unknown, used or late. */
  useTrigger(id: unknown): string {
    const trigger = typeof id === 'string' ? this.triggers.get(id) : undefined
    if (!trigger) throw new SlackApiError('invalid_trigger_id')
    if (trigger.used) throw new SlackApiError('exchanged_trigger_id')
    const ageMs = Date.now() - trigger.issuedAtMs
    if (ageMs > triggerTtlMs) {
      const message = `trigger_id used ${ageMs} ms after the interaction; Slack allows ${triggerTtlMs}`
      throw new SlackRuleError('expired_trigger_id', [{ rule: 'triggerTtlMs', pointer: '', message }])
    }
    trigger.used = true
    return trigger.user
  }

  issueResponseUrl(target: { channel: string; user: string; messageTs?: string }): string {
    const id = this.nextId('R')
    this.responseUrls.set(id, { ...target, uses: 0, issuedAtMs: Date.now() })
    return `${this.config.baseUrl}/response/${this.config.teamId}/${id}`
  }
}
