import type { Args, Block, SlackChannel, SlackFile, SlackMessage, SlackUser, SlackView } from './types.ts'

/** Builders for the bodies Slack sends to an app (shapes: reference/slack-platform.md §2). Pure: ids come in. */

export interface PayloadContext {
  teamId: string
  teamDomain: string
  appId: string
  botUserId: string
}

/** The deprecated verification token Slack still sends; apps must ignore it and check the signature. */
const legacyToken = 'legacy-verification-token'

/** Slash command fields, in the order Slack sends them (form-encoded by the caller). */
export function commandFields(
  ctx: PayloadContext,
  input: {
    command: string
    text: string
    user: SlackUser
    channel: SlackChannel
    responseUrl: string
    triggerId: string
  },
): Record<string, string> {
  return {
    token: legacyToken,
    team_id: ctx.teamId,
    team_domain: ctx.teamDomain,
    channel_id: input.channel.id,
    channel_name: input.channel.is_im ? 'directmessage' : input.channel.name,
    user_id: input.user.id,
    user_name: input.user.name,
    command: input.command,
    text: input.text,
    api_app_id: ctx.appId,
    is_enterprise_install: 'false',
    response_url: input.responseUrl,
    trigger_id: input.triggerId,
  }
}

/** The Events API `event_callback` envelope around `event`. */
export function eventCallback(ctx: PayloadContext, event: Args, eventId: string, eventTimeS: number): Args {
  return {
    token: legacyToken,
    team_id: ctx.teamId,
    context_team_id: ctx.teamId,
    context_enterprise_id: null,
    api_app_id: ctx.appId,
    event,
    type: 'event_callback',
    event_id: eventId,
    event_time: eventTimeS,
    authorizations: [
      {
        enterprise_id: null,
        team_id: ctx.teamId,
        user_id: ctx.botUserId,
        is_bot: true,
        is_enterprise_install: false,
      },
    ],
    is_ext_shared_channel: false,
    event_context: `4-${Buffer.from(`${ctx.teamId}:${eventId}`).toString('base64url')}`,
  }
}

export function channelType(channel: SlackChannel): 'channel' | 'group' | 'im' {
  return channel.is_im ? 'im' : channel.is_group ? 'group' : 'channel'
}

/** The `message` event (subtype `file_share`) for a person's file upload message. */
export function fileShareMessageEvent(message: SlackMessage, channel: SlackChannel): Args {
  return {
    type: 'message',
    subtype: 'file_share',
    text: message.text,
    files: message.files ?? [],
    upload: true,
    user: message.user,
    display_as_bot: false,
    ts: message.ts,
    ...(message.thread_ts ? { thread_ts: message.thread_ts, parent_user_id: message.parent_user_id } : {}),
    channel: channel.id,
    event_ts: message.ts,
    channel_type: channelType(channel),
  }
}

/** The `file_shared` event: only ids, no message ts (`files.info` has the rest). */
export function fileSharedEvent(file: SlackFile, channelId: string, eventTs: string): Args {
  return {
    type: 'file_shared',
    channel_id: channelId,
    file_id: file.id,
    user_id: file.user,
    file: { id: file.id },
    event_ts: eventTs,
  }
}

export function interactiveUser(ctx: PayloadContext, user: SlackUser): Args {
  return { id: user.id, username: user.name, name: user.name, team_id: ctx.teamId }
}

/** Fields every interactivity payload carries. */
export function interactiveBase(ctx: PayloadContext, type: string, user: SlackUser, triggerId: string): Args {
  return {
    type,
    team: { id: ctx.teamId, domain: ctx.teamDomain },
    user: interactiveUser(ctx, user),
    api_app_id: ctx.appId,
    token: legacyToken,
    trigger_id: triggerId,
    enterprise: null,
    is_enterprise_install: false,
  }
}

/** Block elements that report state, with the block they sit in. */
export function stateElements(blocks: Block[]): { block: Block; element: Args }[] {
  return blocks.flatMap((block) => {
    const elements =
      block.type === 'input'
        ? [block.element]
        : block.type === 'actions'
          ? asArray(block.elements)
          : [block.accessory]
    return elements
      .filter(
        (e): e is Args => typeof e === 'object' && e !== null && typeof (e as Args).action_id === 'string',
      )
      .map((element) => ({ block, element }))
  })
}

/**
 * `view.state.values` for a submission. `values` is keyed by block id or action id; each value is a string (text
 * inputs, selects, radio buttons by option value), a string array (checkboxes, multi-selects), or files / file ids
 * (`file_input`). Input blocks left out are sent empty, as Slack does for optional inputs.
 */
export function stateValues(
  view: SlackView,
  values: Record<string, unknown>,
  fileById: (id: string) => SlackFile | undefined,
): Record<string, Record<string, Args>> {
  const state: Record<string, Record<string, Args>> = {}
  const used = new Set<string>()
  for (const { block, element } of stateElements(view.blocks)) {
    const blockId = String(block.block_id)
    const actionId = String(element.action_id)
    const key = [blockId, actionId].find((k) => k in values)
    if (key === undefined && block.type !== 'input') continue
    if (key !== undefined) used.add(key)
    const entry = state[blockId] ?? {}
    entry[actionId] = elementState(element, key === undefined ? undefined : values[key], fileById)
    state[blockId] = entry
  }
  const unknown = Object.keys(values).filter((k) => !used.has(k))
  if (unknown.length > 0) {
    const known = stateElements(view.blocks).map(
      ({ block, element }) => `${block.block_id}/${element.action_id}`,
    )
    throw new Error(
      `No input for ${unknown.join(', ')} in view ${view.id}; it has: ${known.join(', ') || 'none'}`,
    )
  }
  return state
}

/** The state of one element given a chosen value, in Slack's shape for its type. */
export function elementState(
  element: Args,
  value: unknown,
  fileById: (id: string) => SlackFile | undefined,
): Args {
  const type = String(element.type)
  switch (type) {
    case 'external_select':
      // Its options came from the app's answer to a block_suggestion (see suggestions.ts): the option itself.
      if (typeof value === 'object' && value !== null) return { type, selected_option: value }
      return { type, selected_option: value === undefined ? null : optionFor(element, String(value)) }
    case 'static_select':
    case 'radio_buttons':
    case 'overflow':
      return { type, selected_option: value === undefined ? null : optionFor(element, String(value)) }
    case 'checkboxes':
    case 'multi_static_select':
      return { type, selected_options: asStrings(value).map((v) => optionFor(element, v)) }
    case 'users_select':
      return { type, selected_user: value ?? null }
    case 'conversations_select':
      return { type, selected_conversation: value ?? null }
    case 'channels_select':
      return { type, selected_channel: value ?? null }
    case 'datepicker':
      return { type, selected_date: value ?? null }
    case 'file_input':
      return { type, files: asFiles(value, fileById) }
    default:
      return { type, value: value === undefined ? null : String(value) }
  }
}

/** The option object (as the app defined it) whose `value` is `value`, in `options` or `option_groups`. */
export function optionFor(element: Args, value: string): Args {
  const options = [
    ...asArray(element.options),
    ...asArray(element.option_groups).flatMap((group) => asArray(group.options)),
  ]
  const option = options.find((o) => o.value === value)
  if (!option) {
    const have = options.map((o) => String(o.value)).join(', ')
    throw new Error(`No option "${value}" in ${String(element.action_id)}; options are: ${have || 'none'}`)
  }
  return option
}

function asFiles(value: unknown, fileById: (id: string) => SlackFile | undefined): SlackFile[] {
  const list = value === undefined ? [] : Array.isArray(value) ? value : [value]
  return list.map((item) => {
    if (typeof item !== 'string') return item as SlackFile
    const file = fileById(item)
    if (!file) throw new Error(`No file ${item} in the emulator: add it with emulator.addFile() first`)
    return file
  })
}

function asStrings(value: unknown): string[] {
  if (value === undefined) return []
  return (Array.isArray(value) ? value : [value]).map(String)
}

function asArray(value: unknown): Args[] {
  return Array.isArray(value) ? value.filter((v): v is Args => typeof v === 'object' && v !== null) : []
}
