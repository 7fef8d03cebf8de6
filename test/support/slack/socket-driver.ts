import { createSlackDriver } from './driver.ts'
import type { SlackEmulator } from './emulator.ts'
import type { ClickInput, CommandInput, DropFileInput } from './interactions.ts'
import type { DeliverOptions, SocketAck } from './socket-mode.ts'
import type { Args, SlackFile, SlackView } from './types.ts'

/** What the app acked an envelope with; `json` is the ack's payload, as `DriverResponse.json` is the HTTP body. */
export interface SocketResponse extends SocketAck {
  json: unknown
}

/**
 * The HTTP driver's API over Socket Mode: each request goes to the app as an envelope on the emulator's WebSocket
 * (waiting for the app to be connected), and resolves with the app's ack (`{ envelope_id, payload }`), as Slack
 * sees it. Command acks are shown in the conversation and view acks applied to the view, as over HTTP.
 */
export interface SocketModeDriver {
  command(
    command: string,
    input?: CommandInput,
    options?: DeliverOptions,
  ): Promise<SocketResponse & { responseUrl: string; triggerId: string }>
  /** Wraps `event` in an `event_callback` envelope and delivers it as `events_api`. */
  event(event: Args, options?: DeliverOptions): Promise<SocketResponse & { eventId: string }>
  /** A person uploads a file into a channel: the `message` (file_share) and `file_shared` events are delivered. */
  dropFile(
    input: DropFileInput,
    options?: DeliverOptions,
  ): Promise<{ file: SlackFile; ts: string; acks: SocketResponse[] }>
  /** A button press (`block_actions`), delivered as `interactive`. */
  click(input: ClickInput, options?: DeliverOptions): Promise<SocketResponse>
  /** Submits an open view (`view_submission`); the ack's `response_action` is applied to the view. */
  submitView(
    viewId: string,
    values?: Record<string, unknown>,
    user?: string,
    options?: DeliverOptions,
  ): Promise<SocketResponse>
  /** Any interactivity payload, as it is. */
  interaction(payload: Args, options?: DeliverOptions): Promise<SocketResponse>
  latestView(user?: string): SlackView
}

export function createSocketModeDriver(emulator: SlackEmulator): SocketModeDriver {
  // The envelope builders are the HTTP driver's: the same payloads, another transport.
  const driver = createSlackDriver({ emulator })
  const withJson = <T extends SocketAck>(ack: T): T & { json: unknown } => ({ ...ack, json: ack.payload })
  return {
    command: async (command, input, options) => withJson(await driver.socketCommand(command, input, options)),
    event: async (event, options) => withJson(await driver.socketEvent(event, options)),
    async dropFile(input, options) {
      const { acks, ...dropped } = await driver.socketDropFile(input, options)
      return { ...dropped, acks: acks.map(withJson) }
    },
    click: async (input, options) => withJson(await driver.socketClick(input, options)),
    submitView: async (viewId, values, user, options) =>
      withJson(await driver.socketSubmitView(viewId, values, user, options)),
    interaction: async (payload, options) =>
      withJson(await emulator.socketMode.deliver('interactive', payload, options)),
    latestView: (user) => driver.latestView(user),
  }
}
