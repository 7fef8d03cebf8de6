import type { AddFileInput, SlackEmulator } from './emulator.ts'
import {
  commandFields,
  elementState,
  eventCallback,
  fileSharedEvent,
  fileShareMessageEvent,
  interactiveBase,
  type PayloadContext,
  stateElements,
  stateValues,
} from './payloads.ts'
import type { Args, Block, SlackChannel, SlackFile, SlackUser, StoredMessage } from './types.ts'
import { SlackRuleError } from './violations.ts'

export interface CommandInput {
  text?: string
  /** Defaults to the emulator's default user. */
  user?: string
  /** Defaults to the emulator's default channel. */
  channel?: string
}

export interface DropFileInput extends Omit<AddFileInput, 'channel'> {
  /** Defaults to the default channel. */
  channel?: string
  /** The events that announce the upload: the `message`/`file_share` event (default), `file_shared`, or both. */
  announce?: 'message' | 'file_shared' | 'both'
}

export interface ClickInput {
  /** The `action_id` of the button, select, overflow… that the person uses. */
  actionId: string
  /** Who clicks. Defaults to the emulator's default user. */
  user?: string
  /** A modal holding the element. Without it the element is looked for in a message of `channel`. */
  viewId?: string
  /** Defaults to the default channel. */
  channel?: string
  /** The message holding the element. Defaults to the newest message of `channel` (threads included) that has it. */
  messageTs?: string
  /** For selects, radio buttons and overflow menus: the option value chosen; for checkboxes: the values. */
  value?: string | string[]
}

export function payloadContext(emulator: SlackEmulator): PayloadContext {
  const { teamId, teamDomain, appId, botUserId } = emulator
  return { teamId, teamDomain, appId, botUserId }
}

/** A person by id: known to the emulator, or added with their id as their name. */
export function personOf(emulator: SlackEmulator, id?: string): SlackUser {
  if (id === undefined) return emulator.defaultUser
  return emulator.workspace.users.get(id) ?? emulator.addUser({ id, name: id.toLowerCase() })
}

export function channelOf(emulator: SlackEmulator, id?: string): SlackChannel {
  return id === undefined ? emulator.defaultChannel : emulator.addChannel(id)
}

/**
 * A slash command's fields, with a fresh `response_url` and `trigger_id`, and `showAck`, which shows the ack body
 * to the person who typed the command as Slack does (ephemeral unless `response_type: 'in_channel'`).
 */
export function commandRequest(emulator: SlackEmulator, command: string, input: CommandInput = {}) {
  const ws = emulator.workspace
  const user = personOf(emulator, input.user)
  const channel = channelOf(emulator, input.channel)
  const target = { channel: channel.id, user: user.id }
  const responseUrl = ws.issueResponseUrl(target)
  const triggerId = ws.issueTrigger(user.id)
  const text = input.text ?? ''
  const fields = commandFields(payloadContext(emulator), {
    command,
    text,
    user,
    channel,
    responseUrl,
    triggerId,
  })
  const showAck = (ack: unknown) => {
    const body =
      typeof ack === 'string' ? (ack === '' ? undefined : { text: ack }) : (ack as Args | undefined)
    if (!body || (typeof body.text !== 'string' && !Array.isArray(body.blocks))) return
    try {
      ws.applyResponse(target, body)
    } catch (error) {
      // Slack shows the person an error instead of an ack it refuses: a rule the app broke.
      if (!(error instanceof SlackRuleError)) throw error
      ws.violations.record('command_ack', error.problems)
    }
  }
  return { fields, responseUrl, triggerId, showAck }
}

/** An `event_callback` envelope around `event`, with a fresh `event_id`. */
export function eventRequest(emulator: SlackEmulator, event: Args): { eventId: string; body: Args } {
  const eventId = emulator.workspace.nextId('Ev')
  return {
    eventId,
    body: eventCallback(payloadContext(emulator), event, eventId, Math.floor(Date.now() / 1000)),
  }
}

/** A person's upload: the file is added and shared in the emulator; `events` are what Slack would send the app. */
export function fileDrop(
  emulator: SlackEmulator,
  input: DropFileInput,
): { file: SlackFile; ts: string; events: Args[] } {
  const channel = channelOf(emulator, input.channel)
  const { announce = 'message', channel: _channel, ...file } = input
  const added = emulator.addFile({ ...file, channel: channel.id })
  const shares = channel.is_private ? added.shares.private : added.shares.public
  const share = shares?.[channel.id]?.at(-1)
  const stored = share ? emulator.workspace.find(channel.id, share.ts) : undefined
  if (!share || !stored) throw new Error(`dropFile: ${added.id} was not shared into ${channel.id}`)
  const events: Args[] = []
  if (announce !== 'file_shared') events.push(fileShareMessageEvent(stored.message, channel))
  if (announce !== 'message') events.push(fileSharedEvent(added, channel.id, share.ts))
  return { file: added, ts: share.ts, events }
}

/** The `block_actions` payload for a click on an element of a message or a modal the app put up. */
export function blockActionsPayload(emulator: SlackEmulator, input: ClickInput): { payload: Args } {
  const ws = emulator.workspace
  const user = personOf(emulator, input.user)
  const triggerId = ws.issueTrigger(user.id)
  const base = interactiveBase(payloadContext(emulator), 'block_actions', user, triggerId)
  if (input.viewId) {
    const record = ws.views.get(input.viewId)
    if (!record?.open) throw new Error(`View ${input.viewId} is not open`)
    const action = actionFor(emulator, record.view.blocks, input)
    if (!action) throw new Error(`No element ${input.actionId} in view ${input.viewId}`)
    const container = { type: 'view', view_id: record.view.id }
    return { payload: { ...base, container, view: record.view, actions: [action] } }
  }
  const channel = channelOf(emulator, input.channel)
  const candidates = ws
    .messages(channel.id)
    .filter((m) => !m.deleted && (!m.ephemeralTo || m.ephemeralTo === user.id))
    .filter((m) => input.messageTs === undefined || m.message.ts === input.messageTs)
    .reverse()
  for (const stored of candidates) {
    const action = actionFor(emulator, stored.message.blocks ?? [], input)
    if (action)
      return { payload: { ...base, ...messagePart(emulator, stored, channel, user), actions: [action] } }
  }
  const where = input.messageTs ? `message ${input.messageTs}` : 'any message'
  throw new Error(
    `No element ${input.actionId} in ${where} of ${channel.id}.\n${emulator.transcript(channel.id)}`,
  )
}

/** The `view_submission` payload for the open view `viewId` filled with `values` (see `stateValues`). */
export function viewSubmissionPayload(
  emulator: SlackEmulator,
  viewId: string,
  values: Record<string, unknown>,
  userId?: string,
): Args {
  const ws = emulator.workspace
  const record = ws.views.get(viewId)
  if (!record) throw new Error(`No view ${viewId}: the app never opened it`)
  if (!record.open) throw new Error(`View ${viewId} is closed`)
  const user = personOf(emulator, userId ?? record.user)
  const state = stateValues(record.view, values, (id) => ws.files.get(id)?.file)
  return {
    ...interactiveBase(payloadContext(emulator), 'view_submission', user, ws.issueTrigger(user.id)),
    view: { ...record.view, state: { values: state } },
    response_urls: [],
  }
}

function messagePart(
  emulator: SlackEmulator,
  stored: StoredMessage,
  channel: SlackChannel,
  user: SlackUser,
): Args {
  const isEphemeral = stored.ephemeralTo !== undefined
  const responseUrl = emulator.workspace.issueResponseUrl({
    channel: channel.id,
    user: user.id,
    messageTs: stored.message.ts,
  })
  return {
    container: {
      type: 'message',
      message_ts: stored.message.ts,
      channel_id: channel.id,
      is_ephemeral: isEphemeral,
      ...(stored.message.thread_ts ? { thread_ts: stored.message.thread_ts } : {}),
    },
    channel: { id: channel.id, name: channel.name },
    ...(isEphemeral ? {} : { message: stored.message }),
    state: { values: {} },
    response_url: responseUrl,
  }
}

function actionFor(emulator: SlackEmulator, blocks: Block[], input: ClickInput): Args | undefined {
  const hit = stateElements(blocks).find(({ element }) => element.action_id === input.actionId)
  if (!hit) return undefined
  const { block, element } = hit
  const base = { action_id: input.actionId, block_id: block.block_id, action_ts: emulator.workspace.nextTs() }
  if (element.type === 'button') {
    return {
      ...base,
      type: 'button',
      text: element.text,
      ...(element.value === undefined ? {} : { value: element.value }),
      ...(element.style === undefined ? {} : { style: element.style }),
    }
  }
  return { ...base, ...elementState(element, input.value, (id) => emulator.workspace.files.get(id)?.file) }
}
