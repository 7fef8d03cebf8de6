import pg from 'pg'
import type { Logger } from '../../logger.ts'
import { databaseUnavailable } from './pool.ts'

/** The channel every catalog change is notified on (its payload: the new version). */
export const catalogChannel = 'roster_catalog'

/**
 * LISTEN roster_catalog on a connection of its own (a pooled one would be handed to others). Calls `changed` on
 * every notification, and after a lost connection is back (what changed meanwhile was not notified to it).
 */
export class CatalogListener {
  #client: pg.Client | undefined
  #stopped = false
  #delayMs: number
  #timer: NodeJS.Timeout | undefined

  constructor(
    readonly databaseUrl: string,
    readonly changed: () => void,
    readonly options: { logger?: Logger; reconnectDelayMs?: number },
  ) {
    this.#delayMs = options.reconnectDelayMs ?? 1000
  }

  async start(): Promise<void> {
    const client = new pg.Client({ connectionString: this.databaseUrl, application_name: 'roster-catalog' })
    client.on('notification', (message) => {
      if (message.channel === catalogChannel) this.changed()
    })
    client.on('error', (error) => this.#lost(client, error))
    client.on('end', () => this.#lost(client, new Error('the connection ended')))
    try {
      await client.connect()
      await client.query(`LISTEN ${catalogChannel}`)
    } catch (error) {
      client.end().catch(() => undefined)
      throw databaseUnavailable(this.databaseUrl, 'listen for catalog changes', error)
    }
    this.#client = client
  }

  #lost(client: pg.Client, error: Error): void {
    if (this.#stopped || this.#client !== client) return
    this.#client = undefined
    client.end().catch(() => undefined)
    this.options.logger?.warn('catalog listener lost its connection; reconnecting', { error: error.message })
    this.#retry()
  }

  #retry(): void {
    if (this.#stopped) return
    this.#timer = setTimeout(async () => {
      try {
        await this.start()
        this.#delayMs = this.options.reconnectDelayMs ?? 1000
        this.changed()
      } catch {
        this.#delayMs = Math.min(this.#delayMs * 2, 30_000)
        this.#retry()
      }
    }, this.#delayMs)
    this.#timer.unref()
  }

  async stop(): Promise<void> {
    this.#stopped = true
    clearTimeout(this.#timer)
    const client = this.#client
    this.#client = undefined
    await client?.end().catch(() => undefined)
  }
}
