/** Shapes shared by the Slack emulator and the driver. Field names follow Slack's wire format (snake_case). */

export type Args = Record<string, unknown>

/** A Block Kit block (or element) as the app sent it; only `type` is relied on. */
export interface Block {
  type: string
  block_id?: string
  [key: string]: unknown
}

export interface FileShare {
  ts: string
  thread_ts?: string
  reply_users: string[]
  reply_users_count: number
  reply_count: number
  channel_name: string
  team_id: string
  share_user_id: string
  source: 'UNKNOWN'
}

/** A file object as `files.info`, `file_share` messages and `file_input` submissions carry it. */
export interface SlackFile {
  id: string
  created: number
  timestamp: number
  name: string
  title: string
  mimetype: string
  filetype: string
  pretty_type: string
  user: string
  user_team: string
  editable: boolean
  size: number
  mode: 'hosted'
  is_external: boolean
  external_type: string
  is_public: boolean
  public_url_shared: boolean
  display_as_bot: boolean
  username: string
  url_private: string
  url_private_download: string
  permalink: string
  permalink_public: string
  channels: string[]
  groups: string[]
  ims: string[]
  shares: { public?: Record<string, FileShare[]>; private?: Record<string, FileShare[]> }
  comments_count: number
  file_access: 'visible'
}

export interface Reaction {
  name: string
  users: string[]
  count: number
}

/** A message as Slack stores it (what `chat.postMessage` answers in `message`, and `conversations.history` lists). */
export interface SlackMessage {
  type: 'message'
  ts: string
  user: string
  text: string
  team: string
  blocks?: Block[]
  thread_ts?: string
  parent_user_id?: string
  reply_count?: number
  reply_users?: string[]
  reply_users_count?: number
  latest_reply?: string
  subtype?: string
  bot_id?: string
  app_id?: string
  files?: SlackFile[]
  upload?: boolean
  edited?: { user: string; ts: string }
  reactions?: Reaction[]
}

/** A message in the emulator's history: the Slack message plus where it lives and who may see it. */
export interface StoredMessage {
  channel: string
  message: SlackMessage
  /** Set for `chat.postEphemeral` and ephemeral `response_url` replies: only this user sees the message. */
  ephemeralTo?: string
  deleted?: boolean
}

export interface SlackView {
  id: string
  team_id: string
  type: string
  callback_id: string
  external_id: string
  private_metadata: string
  blocks: Block[]
  state: { values: Record<string, Record<string, Args>> }
  hash: string
  root_view_id: string
  previous_view_id: string | null
  app_id: string
  app_installed_team_id: string
  bot_id: string
  clear_on_close: boolean
  notify_on_close: boolean
  [key: string]: unknown
}

export interface ViewRecord {
  view: SlackView
  /** The user the view was opened for (the user of the trigger). */
  user: string
  open: boolean
}

export interface SlackChannel {
  id: string
  name: string
  created: number
  is_channel: boolean
  is_group: boolean
  is_im: boolean
  is_private: boolean
  /** For a DM: the other user. */
  user?: string
}

export interface SlackUser {
  id: string
  name: string
  real_name?: string
  is_admin?: boolean
  is_owner?: boolean
  is_bot?: boolean
  email?: string
  tz?: string
}

/** One request the emulator received. Web API calls use the method name; other endpoints use `upload`,
 * `download`, `response_url`, `socket_ack` and `socket_close` (`{ by, code }`: who closed a Socket Mode connection).
 * `args` are the decoded arguments (JSON-string fields parsed). */
export interface EmulatorCall {
  method: string
  args: Args
  /** ISO time the request was answered. */
  at: string
  /** The fault injected instead of (or before, for `delay`) the normal answer. */
  fault?: Fault['kind']
  /** What the emulator answered: the HTTP status and, for Web API calls, `ok` and `error`. */
  status: number
  ok?: boolean
  error?: string
}

export type Fault =
  /** HTTP 429 with `Retry-After: retryAfterS` and `{ ok: false, error: 'ratelimited' }`. */
  | { kind: 'ratelimited'; retryAfterS: number }
  /** HTTP 200 with `{ ok: false, error }`, e.g. `channel_not_found`. */
  | { kind: 'error'; error: string }
  /** That HTTP status with a plain-text body. */
  | { kind: 'http'; status: number }
  /** The connection is destroyed without an answer (the client sees a network error). */
  | { kind: 'down' }
  /** The answer is held back `ms` milliseconds, then handled normally. */
  | { kind: 'delay'; ms: number }

/** A Web API error answered as HTTP 200 `{ ok: false, error }`. */
export class SlackApiError extends Error {
  constructor(
    readonly error: string,
    readonly extra: Args = {},
  ) {
    super(error)
  }
}
