import { type FileShare, SlackApiError, type SlackFile } from './types.ts'
import type { Workspace } from './workspace.ts'

/** Files as Slack hosts them: metadata from the name, URLs on the emulator, shares per channel. */

const fileKinds: Record<string, { mimetype: string; pretty: string }> = {
  json: { mimetype: 'application/json', pretty: 'JSON' },
  csv: { mimetype: 'text/csv', pretty: 'CSV' },
  text: { mimetype: 'text/plain', pretty: 'Plain Text' },
  binary: { mimetype: 'application/octet-stream', pretty: 'Binary' },
}

export function createFile(
  ws: Workspace,
  input: {
    name: string
    user: string
    bytes?: Buffer
    mimetype?: string
    title?: string
  },
): SlackFile {
  const id = ws.nextId('F')
  const ext = input.name.includes('.') ? (input.name.split('.').pop() ?? '').toLowerCase() : ''
  const filetype = ext === 'txt' ? 'text' : ext in fileKinds ? ext : ext || 'binary'
  const kind = fileKinds[filetype] ?? {
    mimetype: 'application/octet-stream',
    pretty: filetype.toUpperCase(),
  }
  const now = Math.floor(Date.now() / 1000)
  const { baseUrl, teamId } = ws.config
  const path = `${teamId}-${id}`
  const name = encodeURIComponent(input.name)
  const file: SlackFile = {
    id,
    created: now,
    timestamp: now,
    name: input.name,
    title: input.title ?? input.name,
    mimetype: input.mimetype ?? kind.mimetype,
    filetype,
    pretty_type: kind.pretty,
    user: input.user,
    user_team: teamId,
    editable: false,
    size: input.bytes?.length ?? 0,
    mode: 'hosted',
    is_external: false,
    external_type: '',
    is_public: false,
    public_url_shared: false,
    display_as_bot: false,
    username: '',
    url_private: `${baseUrl}/files-pri/${path}/${name}`,
    url_private_download: `${baseUrl}/files-pri/${path}/download/${name}`,
    permalink: `${baseUrl}/files/${input.user}/${id}/${name}`,
    permalink_public: `${baseUrl}/${path}-public`,
    channels: [],
    groups: [],
    ims: [],
    shares: {},
    comments_count: 0,
    file_access: 'visible',
  }
  ws.files.set(id, input.bytes ? { file, bytes: input.bytes } : { file })
  return file
}

export function setFileBytes(ws: Workspace, id: string, bytes: Buffer): void {
  const entry = ws.files.get(id)
  if (!entry) throw new SlackApiError('file_not_found')
  entry.bytes = bytes
  entry.file.size = bytes.length
}

/** Records that `file` was shared by the message `ts` (in the thread `threadTs`) of `channel`. */
export function recordShare(
  ws: Workspace,
  file: SlackFile,
  channelId: string,
  ts: string,
  threadTs: string | undefined,
  user: string,
): void {
  const channel = ws.resolveChannel(channelId)
  const scope = channel.is_private ? 'private' : 'public'
  const share: FileShare = {
    ts,
    reply_users: [],
    reply_users_count: 0,
    reply_count: 0,
    channel_name: channel.name,
    team_id: ws.config.teamId,
    share_user_id: user,
    source: 'UNKNOWN',
  }
  if (threadTs) share.thread_ts = threadTs
  const byChannel = file.shares[scope] ?? {}
  byChannel[channel.id] = [...(byChannel[channel.id] ?? []), share]
  file.shares[scope] = byChannel
  const list = channel.is_im ? file.ims : channel.is_group ? file.groups : file.channels
  if (!list.includes(channel.id)) list.push(channel.id)
  if (!channel.is_private) file.is_public = true
}
