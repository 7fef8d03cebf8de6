import type { WebClient } from '@slack/web-api'
import type { Engine } from '../../../engine/engine.ts'
import type { Logger } from '../../../logger.ts'
import { parentMessage } from '../blocks/progress-blocks.ts'
import { type ChannelSlots, nextProgressAt } from './rate-plan.ts'
import { classifySlackError } from './retry-plan.ts'
import { NoThread, type ThreadResolver, WaitForThread } from './thread-resolver.ts'

export interface ProgressUpdatesOptions {
  engine: Engine
  client: WebClient
  threads: ThreadResolver
  slots: ChannelSlots
  logger: Logger
  now: () => number
  /** Least time between two updates of one job's parent. Default 1500 ms. */
  jobIntervalMs: number
  /** Called whenever Slack answered a call: the outbox then retries what it holds at once. */
  onSlackAnswered: () => void
}

interface JobState {
  timer?: NodeJS.Timeout | undefined
  inFlight?: Promise<void> | undefined
  lastSentAtMs?: number
  /** Something changed since the last update. */
  dirty: boolean
  /** Finished or forgotten: no more updates. */
  done: boolean
}

/**
 * Keeps each running job's parent message current with `chat.update`, throttled per job and per channel. Updates
 * are best effort and not kept: each one renders the job's latest state from the engine, so a lost one is made
 * good by the next, and the final state is the outbox's (durable) business.
 */
export class ProgressUpdates {
  readonly #jobs = new Map<string, JobState>()
  readonly #o: ProgressUpdatesOptions
  #stopped = false

  constructor(options: ProgressUpdatesOptions) {
    this.#o = options
  }

  /** The job changed: its parent will show it, soon but not sooner than the throttle allows. */
  touch(jobId: string): void {
    if (this.#stopped) return
    let state = this.#jobs.get(jobId)
    if (!state) {
      state = { dirty: false, done: false }
      this.#jobs.set(jobId, state)
    }
    if (state.done) return
    state.dirty = true
    if (!state.timer && !state.inFlight) this.#schedule(jobId, state)
  }

  /** No more updates for the job; resolves once an update in flight has landed, so it cannot overwrite the final state. */
  async settle(jobId: string): Promise<void> {
    const state = this.#jobs.get(jobId)
    if (!state) return
    state.done = true
    clearTimeout(state.timer)
    state.timer = undefined
    await state.inFlight
    this.#jobs.delete(jobId)
  }

  /** Marks the job done without waiting (its finish is being planned). */
  finish(jobId: string): void {
    const state = this.#jobs.get(jobId)
    if (!state) return
    state.done = true
    clearTimeout(state.timer)
    state.timer = undefined
    // An update in flight keeps the state until it lands, for `settle` to wait on.
    if (!state.inFlight) this.#jobs.delete(jobId)
  }

  stop(): void {
    this.#stopped = true
    for (const state of this.#jobs.values()) {
      state.done = true
      clearTimeout(state.timer)
    }
  }

  #schedule(
    jobId: string,
    state: JobState,
    atMs = nextProgressAt(state.lastSentAtMs, this.#o.now(), this.#o.jobIntervalMs),
  ) {
    state.timer = setTimeout(() => this.#fire(jobId, state), Math.max(0, atMs - this.#o.now()))
    state.timer.unref()
  }

  #fire(jobId: string, state: JobState): void {
    state.timer = undefined
    if (state.done || this.#stopped) return
    state.dirty = false
    let retryAtMs: number | undefined
    state.inFlight = this.#send(jobId, state)
      .catch((error: unknown) => {
        if (error instanceof WaitForThread) {
          state.dirty = true
          retryAtMs = this.#o.now() + error.retryInMs
        } else if (error instanceof NoThread) {
          state.done = true
        } else {
          this.#o.logger.warn('progress update not sent', { jobId, reason: classifySlackError(error).reason })
        }
      })
      .finally(() => {
        state.inFlight = undefined
        if (state.done && this.#jobs.get(jobId) === state) this.#jobs.delete(jobId)
        if (state.dirty && !state.done && !this.#stopped) this.#schedule(jobId, state, retryAtMs)
      })
  }

  async #send(jobId: string, state: JobState): Promise<void> {
    const active = () => {
      const view = this.#o.engine.getJob(jobId)
      return view && (view.job.status === 'pending' || view.job.status === 'processing') ? view : undefined
    }
    if (!active()) return
    const thread = await this.#o.threads.resolve(jobId)
    const atMs = this.#o.slots.reserve(thread.channel, this.#o.now())
    if (atMs > this.#o.now()) await sleep(atMs - this.#o.now())
    // Rendered after the wait: the latest state, and nothing at all if the job ended meanwhile.
    const view = active()
    if (!view || state.done) return
    const message = parentMessage(view.job, view.progress)
    state.lastSentAtMs = this.#o.now()
    await this.#o.client.chat.update({
      channel: thread.channel,
      ts: thread.ts,
      text: message.text,
      blocks: message.blocks,
    })
    this.#o.onSlackAnswered()
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref())
}
