import { viewProblems } from './block-kit.ts'
import { type MethodHandler, required, str } from './method-args.ts'
import { checkView } from './payload-rules.ts'
import { type Args, type Block, SlackApiError, type SlackView, type ViewRecord } from './types.ts'
import type { Workspace } from './workspace.ts'

/** `views.open`, `views.push`, `views.update`: modals kept with their hash, owner and open/closed state. */
export const viewMethods: Record<string, MethodHandler> = {
  'views.open': (args, { ws }) => {
    const input = viewArgument(args)
    const user = ws.useTrigger(args.trigger_id ?? args.interactivity_pointer)
    return { view: openView(ws, input, user, undefined).view }
  },

  'views.push': (args, { ws }) => {
    const input = viewArgument(args)
    const user = ws.useTrigger(args.trigger_id ?? args.interactivity_pointer)
    const parent = latestView(ws, user)
    if (!parent) throw new SlackApiError('not_found')
    return { view: openView(ws, input, user, parent).view }
  },

  'views.publish': (args, { ws }) => {
    const input = viewArgument(args)
    const user = required(args, 'user_id')
    const existing = [...ws.views.values()].find((r) => r.user === user && r.view.type === 'home')
    if (existing) replaceView(ws, existing, input)
    else openView(ws, input, user, undefined)
    return { view: (existing ?? latestView(ws, user))?.view }
  },

  'views.update': (args, { ws }) => {
    const input = viewArgument(args)
    const id = str(args, 'view_id')
    const externalId = str(args, 'external_id')
    const record = [...ws.views.values()].find(
      (r) =>
        (id !== undefined && r.view.id === id) ||
        (externalId !== undefined && r.view.external_id === externalId),
    )
    if (!record) throw new SlackApiError('not_found')
    const hash = str(args, 'hash')
    if (hash !== undefined && hash !== record.view.hash) throw new SlackApiError('hash_conflict')
    replaceView(ws, record, input)
    return { view: record.view }
  },
}

/** The most recent still-open view, of `user` if given. */
export function latestView(ws: Workspace, user?: string): ViewRecord | undefined {
  return [...ws.views.values()].filter((r) => r.open && (user === undefined || r.user === user)).at(-1)
}

/**
 * What Slack does with a `view_submission` ack body: `errors` keeps the modal open, `update` replaces it,
 * `push` stacks a new one, `clear` closes the whole stack, and anything else closes the submitted view.
 */
export function applyViewAck(ws: Workspace, viewId: string, ack: unknown): void {
  const record = ws.views.get(viewId)
  if (!record) return
  const body = (typeof ack === 'object' && ack !== null ? ack : {}) as Args
  const view = body.view
  // Slack shows the person an error instead of a view it refuses: that is a broken rule of the app's.
  if (body.response_action === 'update' || body.response_action === 'push') {
    const problems = viewProblems(view)
    if (problems.length > 0) {
      ws.violations.record('view_ack', problems)
      return
    }
  }
  switch (body.response_action) {
    case 'errors':
      return
    case 'update':
      if (isObject(view)) replaceView(ws, record, view)
      return
    case 'push':
      if (isObject(view)) openView(ws, view, record.user, record)
      return
    case 'clear':
      for (const r of ws.views.values()) if (r.view.root_view_id === record.view.root_view_id) r.open = false
      return
    default:
      record.open = false
  }
}

function openView(ws: Workspace, input: Args, user: string, parent: ViewRecord | undefined): ViewRecord {
  const id = ws.nextId('V')
  const view: SlackView = {
    ...input,
    ...normalized(ws, input),
    id,
    team_id: ws.config.teamId,
    type: String(input.type),
    state: { values: {} },
    hash: nextHash(ws),
    root_view_id: parent?.view.root_view_id ?? id,
    previous_view_id: parent?.view.id ?? null,
    app_id: ws.config.appId,
    app_installed_team_id: ws.config.teamId,
    bot_id: ws.config.botId,
  }
  const record: ViewRecord = { view, user, open: true }
  ws.views.set(id, record)
  return record
}

function replaceView(ws: Workspace, record: ViewRecord, input: Args): void {
  const { id, team_id, root_view_id, previous_view_id, app_id, app_installed_team_id, bot_id } = record.view
  const fixed = { id, team_id, root_view_id, previous_view_id, app_id, app_installed_team_id, bot_id }
  record.view = {
    ...input,
    ...normalized(ws, input),
    ...fixed,
    type: String(input.type),
    state: { values: {} },
    hash: nextHash(ws),
  }
}

/** Fills what Slack fills: block ids, element action ids and the optional strings, as a stored view has them. */
function normalized(ws: Workspace, input: Args) {
  const blocks = ws.withBlockIds(input.blocks as Block[]).map((block) => {
    const withId = { ...block }
    if (isObject(block.element) && block.element.action_id === undefined) {
      withId.element = { ...block.element, action_id: ws.nextId('a') }
    }
    return withId
  })
  return {
    blocks,
    callback_id: typeof input.callback_id === 'string' ? input.callback_id : '',
    external_id: typeof input.external_id === 'string' ? input.external_id : '',
    private_metadata: typeof input.private_metadata === 'string' ? input.private_metadata : '',
    clear_on_close: input.clear_on_close === true,
    notify_on_close: input.notify_on_close === true,
    close: input.close ?? null,
    submit: input.submit ?? null,
  }
}

function viewArgument(args: Args): Args {
  const view = args.view
  checkView(view)
  return view as Args
}

function nextHash(ws: Workspace): string {
  return `${Math.floor(Date.now() / 1000)}.${ws.nextId('h').slice(1)}`
}

function isObject(value: unknown): value is Args {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
