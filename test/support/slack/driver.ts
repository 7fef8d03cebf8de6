import type { SlackEmulator } from './emulator.ts'
import {
  blockActionsPayload,
  type ClickInput,
  type CommandInput,
  commandRequest,
  type DropFileInput,
  eventRequest,
  fileDrop,
  viewSubmissionPayload,
} from './interactions.ts'
import { applyViewAck } from './methods-views.ts'
import { signedHeaders } from './signing.ts'
import type { DeliverOptions, EnvelopeType, SocketAck } from './socket-mode.ts'
import type { Args, SlackFile, SlackView } from './types.ts'

export type { ClickInput, CommandInput, DropFileInput } from './interactions.ts'

export interface SlackDriverOptions {
  emulator: SlackEmulator
  /** The app's request URL, e.g. `http://127.0.0.1:<port>/slack/events`. Only the HTTP methods need it. */
  appUrl?: string
  /** Defaults to the emulator's `signingSecret`. */
  signingSecret?: string
}

export interface SendOptions {
  /** `valid` (default), `bad` (signed with another secret) or `missing` (no signature headers). */
  signature?: 'valid' | 'bad' | 'missing'
  /** Signs with a timestamp 6 minutes old; Bolt refuses anything over 5. */
  stale?: boolean
  /** An explicit `X-Slack-Request-Timestamp`, in Unix seconds. */
  timestampS?: number
  /** Events API redelivery headers (`X-Slack-Retry-Num`, `X-Slack-Retry-Reason`). */
  retryNum?: number
  retryReason?: string
  /** Overrides the content type, e.g. to show that Bolt refuses `…; charset=utf-8` on form bodies. */
  contentType?: string
}

export interface DriverResponse {
  status: number
  body: string
  /** The body parsed as JSON, or undefined. */
  json: unknown
  /** Milliseconds until the response headers arrived: how long the app took to ack. */
  ms: number
  headers: Headers
}

export interface SlackDriver {
  /** Signs and POSTs a raw body to the app, exactly as given. */
  send(rawBody: string, contentType: string, options?: SendOptions): Promise<DriverResponse>
  urlVerification(challenge?: string, options?: SendOptions): Promise<DriverResponse>
  /** A slash command. The ack body, if any, is shown in the conversation as Slack would (ephemeral by default). */
  command(
    command: string,
    input?: CommandInput,
    options?: SendOptions,
  ): Promise<DriverResponse & { responseUrl: string; triggerId: string }>
  /** Wraps `event` in an `event_callback` envelope and delivers it. */
  event(event: Args, options?: SendOptions): Promise<DriverResponse & { eventId: string }>
  /** A person uploads a file into a channel: the file exists in the emulator and the app hears about it. */
  dropFile(
    input: DropFileInput,
    options?: SendOptions,
  ): Promise<{ file: SlackFile; ts: string; responses: DriverResponse[] }>
  click(input: ClickInput, options?: SendOptions): Promise<DriverResponse>
  /** Submits an open view with `values` (keyed by block id or action id); the ack's `response_action` is applied. */
  submitView(
    viewId: string,
    values?: Record<string, unknown>,
    user?: string,
    options?: SendOptions,
  ): Promise<DriverResponse>
  /** The latest open view (of `user`), or an error listing the calls seen. */
  latestView(user?: string): SlackView
  /** Sends any interactivity payload as `payload=<json>`. */
  interaction(payload: Args, options?: SendOptions): Promise<DriverResponse>
  socketCommand(
    command: string,
    input?: CommandInput,
    options?: DeliverOptions,
  ): Promise<SocketAck & { responseUrl: string; triggerId: string }>
  socketEvent(event: Args, options?: DeliverOptions): Promise<SocketAck & { eventId: string }>
  socketDropFile(
    input: DropFileInput,
    options?: DeliverOptions,
  ): Promise<{ file: SlackFile; ts: string; acks: SocketAck[] }>
  socketClick(input: ClickInput, options?: DeliverOptions): Promise<SocketAck>
  socketSubmitView(
    viewId: string,
    values?: Record<string, unknown>,
    user?: string,
    options?: DeliverOptions,
  ): Promise<SocketAck>
}

const formType = 'application/x-www-form-urlencoded'
const staleAgeS = 6 * 60

export function createSlackDriver(options: SlackDriverOptions): SlackDriver {
  const { emulator } = options
  const ws = emulator.workspace
  const secret = options.signingSecret ?? emulator.signingSecret

  const send = async (
    rawBody: string,
    contentType: string,
    opts: SendOptions = {},
  ): Promise<DriverResponse> => {
    if (!options.appUrl)
      throw new Error('createSlackDriver: appUrl is needed to send HTTP requests to the app')
    const timestampS = opts.timestampS ?? Math.floor(Date.now() / 1000) - (opts.stale ? staleAgeS : 0)
    const signature = opts.signature ?? 'valid'
    const headers: Record<string, string> = {
      'content-type': opts.contentType ?? contentType,
      'user-agent': 'Slackbot 1.0 (+https://api.slack.com/robots)',
      ...(signature === 'missing'
        ? {}
        : signedHeaders(signature === 'bad' ? `${secret}-not` : secret, rawBody, timestampS)),
      ...(opts.retryNum === undefined ? {} : { 'x-slack-retry-num': String(opts.retryNum) }),
      ...(opts.retryReason === undefined ? {} : { 'x-slack-retry-reason': opts.retryReason }),
    }
    const startedMs = performance.now()
    const response = await fetch(options.appUrl, {
      method: 'POST',
      headers,
      body: rawBody,
      redirect: 'manual',
    })
    const ms = Math.round(performance.now() - startedMs)
    const body = await response.text()
    return { status: response.status, body, json: parseJson(body), ms, headers: response.headers }
  }
  const sendForm = (fields: Record<string, string>, opts?: SendOptions) =>
    send(new URLSearchParams(fields).toString(), formType, opts)
  const interaction = (payload: Args, opts?: SendOptions) =>
    sendForm({ payload: JSON.stringify(payload) }, opts)
  const deliver = (type: EnvelopeType, payload: unknown, opts?: DeliverOptions) =>
    emulator.socketMode.deliver(type, payload, opts)

  const latestView = (user?: string) => {
    const view = emulator.latestView(user)
    if (!view)
      throw new Error(
        `No open view${user ? ` for ${user}` : ''}. Calls seen: ${emulator.calls.map((c) => c.method).join(', ')}`,
      )
    return view
  }

  return {
    send,
    interaction,
    latestView,
    urlVerification: (challenge = `challenge-${ws.nextId('X')}`, opts) =>
      send(
        JSON.stringify({ token: 'legacy-verification-token', challenge, type: 'url_verification' }),
        'application/json',
        opts,
      ),
    async command(command, input, opts) {
      const prepared = commandRequest(emulator, command, input)
      const response = await sendForm(prepared.fields, opts)
      if (response.status === 200) prepared.showAck(response.json ?? response.body)
      return { ...response, responseUrl: prepared.responseUrl, triggerId: prepared.triggerId }
    },
    async event(event, opts) {
      const { eventId, body } = eventRequest(emulator, event)
      return { ...(await send(JSON.stringify(body), 'application/json', opts)), eventId }
    },
    async dropFile(input, opts) {
      const { file, ts, events } = fileDrop(emulator, input)
      const responses: DriverResponse[] = []
      for (const event of events)
        responses.push(
          await send(JSON.stringify(eventRequest(emulator, event).body), 'application/json', opts),
        )
      return { file, ts, responses }
    },
    click: (input, opts) => interaction(blockActionsPayload(emulator, input).payload, opts),
    async submitView(viewId, values = {}, user, opts) {
      const response = await interaction(viewSubmissionPayload(emulator, viewId, values, user), opts)
      if (response.status === 200) applyViewAck(ws, viewId, response.json)
      return response
    },
    async socketCommand(command, input, opts) {
      const prepared = commandRequest(emulator, command, input)
      const ack = await deliver('slash_commands', prepared.fields, opts)
      prepared.showAck(ack.payload)
      return { ...ack, responseUrl: prepared.responseUrl, triggerId: prepared.triggerId }
    },
    async socketEvent(event, opts) {
      const { eventId, body } = eventRequest(emulator, event)
      return { ...(await deliver('events_api', body, opts)), eventId }
    },
    async socketDropFile(input, opts) {
      const { file, ts, events } = fileDrop(emulator, input)
      const acks: SocketAck[] = []
      for (const event of events)
        acks.push(await deliver('events_api', eventRequest(emulator, event).body, opts))
      return { file, ts, acks }
    },
    socketClick: (input, opts) => deliver('interactive', blockActionsPayload(emulator, input).payload, opts),
    async socketSubmitView(viewId, values = {}, user, opts) {
      const ack = await deliver('interactive', viewSubmissionPayload(emulator, viewId, values, user), opts)
      applyViewAck(ws, viewId, ack.payload)
      return ack
    },
  }
}

function parseJson(text: string): unknown {
  try {
    return text === '' ? undefined : JSON.parse(text)
  } catch {
    return undefined
  }
}
