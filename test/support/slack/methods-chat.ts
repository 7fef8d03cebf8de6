import { blocksOf, type MethodHandler, required, str } from './method-args.ts'
import { checkMessage, requireArgs } from './payload-rules.ts'
import { type Args, SlackApiError, type SlackUser } from './types.ts'
import type { Workspace } from './workspace.ts'

/** `auth.test`, `chat.*`, `reactions.*`, `users.info`, `conversations.info`, `apps.connections.open`. */
export const chatMethods: Record<string, MethodHandler> = {
  'auth.test': (_args, { ws }) => ({
    url: `https://${ws.config.teamDomain}.slack.com/`,
    team: 'Roster Test',
    user: ws.users.get(ws.config.botUserId)?.name ?? 'roster',
    team_id: ws.config.teamId,
    user_id: ws.config.botUserId,
    bot_id: ws.config.botId,
    app_id: ws.config.appId,
    is_enterprise_install: false,
  }),

  'chat.postMessage': (args, { ws }) => {
    const channel = ws.resolveChannel(args.channel)
    const { text, blocks } = messageContent(args)
    const stored = ws.post({
      channel: channel.id,
      user: ws.config.botUserId,
      text,
      blocks,
      threadTs: str(args, 'thread_ts'),
      asBot: true,
    })
    return { channel: channel.id, ts: stored.message.ts, message: stored.message }
  },

  'chat.update': (args, { ws }) => {
    requireArgs(args, ['channel', 'ts'], 'chatUpdateArgs')
    checkMessage(args)
    const channel = ws.resolveChannel(args.channel)
    const stored = ws.find(channel.id, required(args, 'ts', 'message_not_found'))
    if (!stored || stored.ephemeralTo) throw new SlackApiError('message_not_found')
    if (stored.message.user !== ws.config.botUserId) throw new SlackApiError('cant_update_message')
    const blocks = blocksOf(args, 50)
    const text = str(args, 'text')
    if (text === undefined && blocks === undefined && args.blocks === undefined)
      throw new SlackApiError('no_text')
    if (text !== undefined) stored.message.text = text
    // Slack keeps the old blocks when `blocks` is left out; an empty array removes them.
    if (Array.isArray(args.blocks)) {
      if (blocks && blocks.length > 0) stored.message.blocks = ws.withBlockIds(blocks)
      else delete stored.message.blocks
    }
    stored.message.edited = { user: ws.config.botUserId, ts: ws.nextTs() }
    const { message } = stored
    return { channel: channel.id, ts: message.ts, text: message.text, message }
  },

  'chat.postEphemeral': (args, { ws }) => {
    requireArgs(args, ['channel', 'user'], 'postEphemeralArgs')
    const channel = ws.resolveChannel(args.channel)
    const user = required(args, 'user', 'user_not_in_channel')
    const { text, blocks } = messageContent(args)
    const stored = ws.post({
      channel: channel.id,
      user: ws.config.botUserId,
      text,
      blocks,
      threadTs: str(args, 'thread_ts'),
      asBot: true,
      ephemeralTo: user,
    })
    return { message_ts: stored.message.ts }
  },

  'reactions.add': (args, { ws }) => {
    const { message } = reactionTarget(args, ws)
    const name = required(args, 'name', 'invalid_name').replace(/^:|:$/g, '')
    const reactions = message.reactions ?? []
    const existing = reactions.find((r) => r.name === name)
    if (existing?.users.includes(ws.config.botUserId)) throw new SlackApiError('already_reacted')
    if (existing) {
      existing.users.push(ws.config.botUserId)
      existing.count += 1
    } else reactions.push({ name, users: [ws.config.botUserId], count: 1 })
    message.reactions = reactions
    return {}
  },

  'reactions.remove': (args, { ws }) => {
    const { message } = reactionTarget(args, ws)
    const name = required(args, 'name', 'invalid_name').replace(/^:|:$/g, '')
    const existing = message.reactions?.find((r) => r.name === name)
    if (!existing?.users.includes(ws.config.botUserId)) throw new SlackApiError('no_reaction')
    existing.users = existing.users.filter((u) => u !== ws.config.botUserId)
    existing.count -= 1
    message.reactions = (message.reactions ?? []).filter((r) => r.count > 0)
    return {}
  },

  'users.info': (args, { ws }) => {
    const user = ws.users.get(required(args, 'user', 'user_not_found'))
    if (!user) throw new SlackApiError('user_not_found')
    return { user: userObject(user, ws.config.teamId) }
  },

  'conversations.info': (args, { ws }) => {
    const channel = ws.channels.get(required(args, 'channel', 'channel_not_found'))
    if (!channel) throw new SlackApiError('channel_not_found')
    return {
      channel: {
        ...channel,
        name_normalized: channel.name,
        is_member: true,
        is_archived: false,
        is_general: channel.name === 'general',
        topic: { value: '', creator: '', last_set: 0 },
        purpose: { value: '', creator: '', last_set: 0 },
      },
    }
  },

  'apps.connections.open': (_args, { socket }) => ({ url: socket.openUrl() }),
}

function messageContent(args: Args) {
  checkMessage(args)
  const blocks = blocksOf(args, 50)
  const text = str(args, 'text') ?? ''
  if (text === '' && !blocks && args.attachments === undefined) throw new SlackApiError('no_text')
  return { text, blocks }
}

function reactionTarget(args: Args, ws: Workspace) {
  const channel = ws.resolveChannel(args.channel)
  const stored = ws.find(channel.id, required(args, 'timestamp', 'bad_timestamp'))
  if (!stored || stored.ephemeralTo) throw new SlackApiError('message_not_found')
  return stored
}

function userObject(user: SlackUser, teamId: string) {
  const realName = user.real_name ?? user.name
  return {
    id: user.id,
    team_id: teamId,
    name: user.name,
    deleted: false,
    real_name: realName,
    tz: user.tz ?? 'Europe/London',
    tz_label: 'Greenwich Mean Time',
    tz_offset: 0,
    is_admin: user.is_admin ?? false,
    is_owner: user.is_owner ?? false,
    is_primary_owner: false,
    is_restricted: false,
    is_ultra_restricted: false,
    is_bot: user.is_bot ?? false,
    is_app_user: false,
    updated: Math.floor(Date.now() / 1000),
    profile: {
      real_name: realName,
      display_name: user.name,
      team: teamId,
      ...(user.email ? { email: user.email } : {}),
    },
  }
}
