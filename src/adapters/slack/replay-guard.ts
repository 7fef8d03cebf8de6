import type { AnyMiddlewareArgs, Middleware } from '@slack/bolt'
import type { Logger } from '../../logger.ts'

/**
 * Bolt refuses a request signed more than 5 minutes ago, so a replayed signed request (or a retried event) can only
 * arrive within that window: what was handled is remembered for that long.
 */
export const replayWindowMs = 5 * 60 * 1000
/** At most this many keys: memory stays bounded whatever the request rate (~100 bytes a key). */
export const replayMemoryKeys = 20_000

/**
 * The port: which Slack requests were handled within the window. In memory (`RecentKeys`, one process) or in the
 * `slack_requests` table shared by replicas (src/adapters/postgres/replay-keys.ts), so a request retried to
 * another replica is not run twice.
 */
export interface ReplayKeys {
  /** True the first time `key` is seen within the window (on any replica sharing the keys); false for a replay. */
  firstTime(key: string): Promise<boolean>
}

/** The embedded replay keys: this process's memory. */
export function memoryReplayKeys(recent = new RecentKeys()): ReplayKeys {
  return { firstTime: async (key) => recent.firstTime(key) }
}

/** Keys seen in the last `windowMs`, at most `limit` of them (the oldest go first). */
export class RecentKeys {
  /** Key → when it was first seen (ms); in insertion order, which is time order. */
  readonly #seen = new Map<string, number>()

  constructor(
    private readonly options: { windowMs: number; limit: number; now?: () => number } = {
      windowMs: replayWindowMs,
      limit: replayMemoryKeys,
    },
  ) {}

  /** True the first time `key` is seen within the window; false for a replay. */
  firstTime(key: string): boolean {
    const now = this.options.now?.() ?? Date.now()
    for (const [oldest, at] of this.#seen) {
      if (now - at < this.options.windowMs && this.#seen.size < this.options.limit) break
      this.#seen.delete(oldest)
    }
    if (this.#seen.has(key)) return false
    this.#seen.set(key, now)
    return true
  }

  get size(): number {
    return this.#seen.size
  }
}

/**
 * What makes a Slack request unique: an event's `event_id` (the same on every retry Slack makes, which carries
 * `X-Slack-Retry-Num`), a slash command's or shortcut's `trigger_id` (Slack issues one per invocation). Other
 * interactions (buttons, dialogs) are made idempotent by their own listeners.
 */
export function requestKey(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null) return undefined
  const fields = body as Record<string, unknown>
  if (fields.type === 'event_callback' && typeof fields.event_id === 'string')
    return `event:${fields.event_id}`
  const isCommand = typeof fields.command === 'string'
  const isShortcut = fields.type === 'shortcut' || fields.type === 'message_action'
  if ((isCommand || isShortcut) && typeof fields.trigger_id === 'string')
    return `trigger:${fields.trigger_id}`
  return undefined
}

/**
 * Global Bolt middleware: a request already handled within the window is acknowledged (so Slack stops retrying)
 * and not run again. A signed `/export` captured off the wire and sent again starts no second export.
 */
export function replayGuard(
  logger: Logger,
  keys: ReplayKeys = memoryReplayKeys(),
): Middleware<AnyMiddlewareArgs> {
  return async (args) => {
    const key = requestKey(args.body)
    if (key === undefined || (await keys.firstTime(key))) {
      await args.next()
      return
    }
    // Events were acked by Bolt already; commands and shortcuts wait for ours.
    const { ack } = args as { ack?: () => Promise<void> }
    if (ack) await ack()
    const retryNum = (args as { context?: { retryNum?: number } }).context?.retryNum
    logger.info('slack request seen already: acked, not run again', {
      request: key,
      ...(retryNum === undefined ? {} : { retryNum }),
    })
  }
}
