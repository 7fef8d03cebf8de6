import { randomUUID } from 'node:crypto'
import { EventEmitter } from 'node:events'
import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import type { CallLog } from './call-log.ts'
import { acceptWebSocket, type WebSocketConnection } from './websocket.ts'

export type EnvelopeType = 'slash_commands' | 'events_api' | 'interactive'

/** What the app sent back for an envelope: `{ envelope_id, payload? }`, and how long it took. */
export interface SocketAck {
  envelope_id: string
  payload?: unknown
  /** Milliseconds from sending the envelope to receiving the ack. */
  ms: number
}

export interface DeliverOptions {
  /** Defaults: true for slash commands and view submissions, false otherwise (as Slack sets it). */
  acceptsResponsePayload?: boolean
  /** Events API redelivery fields. */
  retryAttempt?: number
  retryReason?: string
  /** How long to wait for a connection and then for the ack. Defaults to 5000. */
  timeoutMs?: number
}

/**
 * Slack's side of Socket Mode: `apps.connections.open` hands out a one-time `ws://…/socket?ticket=…` URL, the
 * server greets each connection with `hello`, delivers envelopes and collects the client's acks.
 */
export class SocketModeHub {
  private readonly connections: WebSocketConnection[] = []
  private readonly tickets = new Set<string>()
  private readonly acks = new Map<string, (ack: unknown) => void>()
  private readonly events = new EventEmitter()
  baseUrl = ''

  constructor(private readonly options: { appId: string; log: CallLog; isDown: () => boolean }) {}

  get connectionCount(): number {
    return this.connections.length
  }

  openUrl(): string {
    const ticket = randomUUID()
    this.tickets.add(ticket)
    return `${this.baseUrl.replace(/^http/, 'ws')}/socket?ticket=${ticket}&app_id=${this.options.appId}`
  }

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1')
    const ticket = url.searchParams.get('ticket') ?? ''
    if (this.options.isDown()) {
      socket.destroy()
      return
    }
    if (url.pathname !== '/socket' || !this.tickets.delete(ticket)) {
      socket.end('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\n\r\n')
      return
    }
    const connection = acceptWebSocket(req, socket, head, {
      onMessage: (text) => this.onMessage(text),
      onClose: () => {
        const index = this.connections.indexOf(connection as WebSocketConnection)
        if (index >= 0) this.connections.splice(index, 1)
        // In the call log so tests can wait for a close and see whether it was clean (who sent the close frame).
        this.options.log.record({
          method: 'socket_close',
          args: { by: connection?.closedBy ?? 'dropped', code: connection?.closeCode ?? null },
          at: new Date().toISOString(),
          status: 200,
        })
        this.events.emit('disconnected')
      },
    })
    if (!connection) return
    this.connections.push(connection)
    connection.send(
      JSON.stringify({
        type: 'hello',
        num_connections: this.connections.length,
        debug_info: { host: 'applink-emulator', build_number: 1, approximate_connection_time: 18060 },
        connection_info: { app_id: this.options.appId },
      }),
    )
    this.events.emit('connected')
  }

  /** Resolves once a client is connected (at once if one already is). */
  waitForConnection(timeoutMs = 5000): Promise<void> {
    if (this.connections.length > 0) return Promise.resolve()
    return new Promise((resolve, reject) => {
      const onConnected = () => {
        clearTimeout(timer)
        resolve()
      }
      const timer = setTimeout(() => {
        this.events.off('connected', onConnected)
        reject(
          new Error(`No Socket Mode client connected within ${timeoutMs} ms. ${this.options.log.describe()}`),
        )
      }, timeoutMs)
      this.events.once('connected', onConnected)
    })
  }

  /** Sends an envelope to the newest connection and resolves with the client's ack. */
  async deliver(type: EnvelopeType, payload: unknown, options: DeliverOptions = {}): Promise<SocketAck> {
    const timeoutMs = options.timeoutMs ?? 5000
    await this.waitForConnection(timeoutMs)
    const envelopeId = randomUUID()
    const isViewSubmission = (payload as { type?: unknown }).type === 'view_submission'
    const envelope = {
      envelope_id: envelopeId,
      type,
      payload,
      accepts_response_payload:
        options.acceptsResponsePayload ?? (type === 'slash_commands' || isViewSubmission),
      ...(type === 'events_api'
        ? { retry_attempt: options.retryAttempt ?? 0, retry_reason: options.retryReason ?? '' }
        : {}),
    }
    const startedMs = performance.now()
    const acked = new Promise<SocketAck>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.acks.delete(envelopeId)
        reject(new Error(`No ack for ${type} envelope ${envelopeId} within ${timeoutMs} ms`))
      }, timeoutMs)
      this.acks.set(envelopeId, (message) => {
        clearTimeout(timer)
        const { payload: ackPayload } = message as { payload?: unknown }
        const ms = Math.round(performance.now() - startedMs)
        resolve({ envelope_id: envelopeId, ...(ackPayload === undefined ? {} : { payload: ackPayload }), ms })
      })
    })
    this.connections.at(-1)?.send(JSON.stringify(envelope))
    return acked
  }

  /** Asks every client to reconnect, as Slack does before recycling a server (`refresh_requested`). */
  requestReconnect(reason = 'refresh_requested'): void {
    const message = JSON.stringify({ type: 'disconnect', reason, debug_info: { host: 'applink-emulator' } })
    for (const connection of this.connections) connection.send(message)
  }

  /** Drops every connection without a close frame (an outage). */
  dropAll(): void {
    for (const connection of [...this.connections]) connection.terminate()
  }

  /** Closes every connection with a close frame (1001, going away), dropping those that do not finish in time. */
  async closeAll(timeoutMs = 1000): Promise<void> {
    if (this.connections.length === 0) return
    const closed = new Promise<void>((resolve) => {
      const check = () => {
        if (this.connections.length > 0) return
        this.events.off('disconnected', check)
        resolve()
      }
      this.events.on('disconnected', check)
    })
    for (const connection of this.connections) connection.close(1001)
    const timer = setTimeout(() => this.dropAll(), timeoutMs)
    await closed
    clearTimeout(timer)
  }

  private onMessage(text: string): void {
    let message: unknown
    try {
      message = JSON.parse(text)
    } catch {
      return
    }
    const envelopeId = (message as { envelope_id?: unknown }).envelope_id
    if (typeof envelopeId !== 'string') return
    this.options.log.record({
      method: 'socket_ack',
      args: message as Record<string, unknown>,
      at: new Date().toISOString(),
      status: 200,
    })
    this.acks.get(envelopeId)?.(message)
    this.acks.delete(envelopeId)
  }
}
