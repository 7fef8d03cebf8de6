/**
 * When the notifier may send: pure planning, the timers live in the callers. Slack allows about one message per
 * second per channel, with short bursts (chat.postMessage, "Special" tier); progress is also throttled per job, so
 * a fast job does not spend the channel's budget on updates nobody can read.
 */

export interface ChannelRule {
  /** Sustained spacing of messages in one channel. Default 1000 ms. */
  intervalMs: number
  /** Messages that may go at once after a quiet spell (the result, its files). Default 3. */
  burst: number
}

export const defaultChannelRule: ChannelRule = { intervalMs: 1000, burst: 3 }

/**
 * One channel's budget as GCRA (the generic cell rate algorithm): `tatMs` is the theoretical arrival time of the
 * next message. A message may go at `tat - (burst-1)·interval`; each one moves `tat` on by one interval.
 */
export interface ChannelSlot {
  tatMs: number
}

/** Reserves the next send in a channel: when it may go (≥ now), and the channel's slot after it. */
export function reserveSend(
  slot: ChannelSlot | undefined,
  nowMs: number,
  rule: ChannelRule = defaultChannelRule,
): { atMs: number; slot: ChannelSlot } {
  const tat = slot?.tatMs ?? nowMs
  const atMs = Math.max(nowMs, tat - (rule.burst - 1) * rule.intervalMs)
  return { atMs, slot: { tatMs: Math.max(tat, atMs) + rule.intervalMs } }
}

/** When a job's parent may next be updated: at least `jobIntervalMs` after the last update. Default 1500 ms. */
export function nextProgressAt(
  lastSentAtMs: number | undefined,
  nowMs: number,
  jobIntervalMs = 1500,
): number {
  return lastSentAtMs === undefined ? nowMs : Math.max(nowMs, lastSentAtMs + jobIntervalMs)
}

/**
 * The milestone a running job is past, if any: half-way, for jobs big enough that someone is waiting on them
 * (and not yet done: the result says that). Announced once per job: the caller remembers which were.
 */
export function milestoneOf(
  progress: { processed: number; total: number },
  minTotal = 10_000,
): 'halfway' | undefined {
  const { processed, total } = progress
  return total >= minTotal && processed * 2 >= total && processed < total ? 'halfway' : undefined
}

/** Every channel's budget, shared by progress updates and the outbox (they post into the same threads). */
export class ChannelSlots {
  readonly #slots = new Map<string, ChannelSlot>()
  constructor(readonly rule: ChannelRule = defaultChannelRule) {}

  /** Reserves the channel's next send at or after `nowMs`; returns when it may go. */
  reserve(channel: string, nowMs: number): number {
    const { atMs, slot } = reserveSend(this.#slots.get(channel), nowMs, this.rule)
    this.#slots.set(channel, slot)
    return atMs
  }
}
