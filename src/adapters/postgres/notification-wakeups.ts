import pg from 'pg'
import type { Logger } from '../../logger.ts'
import { databaseUnavailable } from './pool.ts'

/** The channel a replica wakes the others on when it queued (or let go of) notifications; payload: the topic. */
export const notificationsChannel = 'roster_notifications'
export type WakeupTopic = 'slack' | 'mail'

/**
 * Wakes a replica's senders: on NOTIFY roster_notifications (LISTEN on a connection of its own), and on a poll
 * every `pollMs` — a claim whose replica died lapses without a word, and a notification sent while the connection
 * was down is not repeated. Both fire the topic's listeners; they then claim what is due.
 */
export class NotificationWakeups {
  readonly #listeners = new Map<WakeupTopic, Set<() => void>>()
  #client: pg.Client | undefined
  #poll: NodeJS.Timeout | undefined
  #retry: NodeJS.Timeout | undefined
  #stopped = false

  constructor(
    readonly databaseUrl: string,
    readonly options: { pollMs: number; logger?: Logger },
  ) {}

  on(topic: WakeupTopic, listener: () => void): () => void {
    let set = this.#listeners.get(topic)
    if (!set) {
      set = new Set()
      this.#listeners.set(topic, set)
    }
    set.add(listener)
    return () => set.delete(listener)
  }

  #fire(topic?: WakeupTopic): void {
    for (const [key, set] of this.#listeners) {
      if (topic !== undefined && key !== topic) continue
      for (const listener of set) listener()
    }
  }

  async start(): Promise<void> {
    await this.#connect()
    this.#poll = setInterval(() => this.#fire(), this.options.pollMs)
    this.#poll.unref()
  }

  async #connect(): Promise<void> {
    const client = new pg.Client({
      connectionString: this.databaseUrl,
      application_name: 'roster-notifications',
    })
    client.on('notification', (message) => {
      if (message.channel !== notificationsChannel) return
      const topic = message.payload === 'slack' || message.payload === 'mail' ? message.payload : undefined
      this.#fire(topic)
    })
    client.on('error', (error) => this.#lost(client, error))
    client.on('end', () => this.#lost(client, new Error('the connection ended')))
    try {
      await client.connect()
      await client.query(`LISTEN ${notificationsChannel}`)
    } catch (error) {
      client.end().catch(() => undefined)
      throw databaseUnavailable(this.databaseUrl, 'listen for notifications to send', error)
    }
    this.#client = client
  }

  #lost(client: pg.Client, error: Error): void {
    if (this.#stopped || this.#client !== client) return
    this.#client = undefined
    client.end().catch(() => undefined)
    this.options.logger?.warn('notification listener lost its connection; reconnecting (polling meanwhile)', {
      error: error.message,
    })
    const again = (delayMs: number) => {
      this.#retry = setTimeout(() => {
        if (this.#stopped) return
        this.#connect().then(
          () => this.#fire(),
          () => again(Math.min(delayMs * 2, 30_000)),
        )
      }, delayMs)
      this.#retry.unref()
    }
    again(1000)
  }

  async stop(): Promise<void> {
    this.#stopped = true
    clearInterval(this.#poll)
    clearTimeout(this.#retry)
    const client = this.#client
    this.#client = undefined
    await client?.end().catch(() => undefined)
  }
}
