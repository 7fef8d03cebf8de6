import type { WebClient } from '@slack/web-api'
import type { Job } from '../../../domain/jobs/job.ts'
import type { JobEvent } from '../../../engine/events.ts'
import { mentionsOf } from '../blocks/progress-blocks.ts'
import type { SlackDeps } from '../slack-deps.ts'
import { Courier } from './courier.ts'
import { createDelivery } from './delivery.ts'
import type { ListenerOutbox, Outbox } from './outbox.ts'
import { isAnnounced, isSampleExport, planFinished, planMilestone, resultId } from './plan-notifications.ts'
import { ProgressUpdates } from './progress-updates.ts'
import { type ChannelRule, ChannelSlots, defaultChannelRule, milestoneOf } from './rate-plan.ts'
import { defaultRetryTiming, type RetryTiming } from './retry-plan.ts'
import { readSampleTable } from './sample-file.ts'
import { createThreadResolver } from './thread-resolver.ts'

/** Timings, for tests (short) and for tuning; every field has a production default. */
export interface NotifierTuning {
  retry?: Partial<RetryTiming>
  channel?: Partial<ChannelRule>
  /** Least time between two progress updates of one job. Default 1500 ms. */
  jobIntervalMs?: number
  /** How long a Slack job may lack a thread before it gets one in a direct message. Default 5000 ms. */
  threadGraceMs?: number
  /** Jobs with at least this many users get a half-way reply. Default 10000. */
  milestoneMinTotal?: number
}

export interface JobNotifierOptions extends NotifierTuning {
  deps: SlackDeps
  /** The Bolt app's client: its token, its retries (it honours Retry-After itself). */
  client: WebClient
  /** Where notifications wait until sent: see `openNotificationStores`. Opened and closed by the caller. */
  outbox: Outbox
  /** Milliseconds for throttling and backoff. Default Date.now. */
  now?: () => number
}

export interface JobNotifier extends ListenerOutbox {
  /** Nothing is waiting to be sent and nothing is being sent. */
  idle(): boolean
  stop(): Promise<void>
}

/**
 * Speaks for jobs in their Slack threads: listens to the engine's `job:*` events (of the jobs this process runs),
 * keeps each running job's parent message current (best effort, throttled), and writes what must arrive — the
 * outcome, milestones, files — to the outbox before sending it, so a Slack outage or a restart delays it but never
 * loses or repeats it. With a shared outbox (PostgreSQL) any replica sends what it claims, once.
 */
export async function startJobNotifier(options: JobNotifierOptions): Promise<JobNotifier> {
  const { deps, client } = options
  const { engine, logger } = deps
  const now = options.now ?? Date.now
  let stopped = false
  const { outbox } = options
  const slots = new ChannelSlots({ ...defaultChannelRule, ...options.channel })
  const threads = createThreadResolver({
    threads: deps.threads,
    engine,
    client,
    logger,
    now,
    graceMs: options.threadGraceMs ?? 5000,
    parentPending: (jobId) => outbox.parentPending(jobId),
  })
  const progress = new ProgressUpdates({
    engine,
    client,
    threads,
    slots,
    logger,
    now,
    jobIntervalMs: options.jobIntervalMs ?? 1500,
    // Declared below; only called once sends happen.
    onSlackAnswered: () => courier.wake(),
  })
  const courier = new Courier({
    outbox,
    send: createDelivery({
      client,
      engine,
      threads,
      jobThreads: deps.threads,
      progress,
      slots,
      now,
      stopped: () => stopped,
    }),
    timing: { ...defaultRetryTiming, ...options.retry },
    logger,
    now,
    probe: () => client.auth.test(),
  })
  const milestoneMinTotal = options.milestoneMinTotal ?? 10_000
  // A job asked for in Slack is announced whatever its thread: the thread is looked up only for the others.
  const announced = async (job: Job) =>
    isAnnounced(job, job.requestedBy.via === 'slack' || (await deps.threads.get(job.id)) !== undefined)
  const mentions = async (job: Job) => mentionsOf(job, (await deps.threads.get(job.id))?.user)
  const at = () => new Date(now()).toISOString()

  const add = async (items: Parameters<Outbox['add']>[0]) => {
    await outbox.add(items)
    // A shared outbox hands out only what this replica claims: claiming also pumps.
    courier.refresh()
  }

  const planOutcome = async (job: Job) => {
    if (await outbox.knows(resultId(job.id))) return
    const sample =
      job.type === 'users_export' && job.status === 'completed' && isSampleExport(job)
        ? await readSampleTable(engine, job).catch((error: unknown) => {
            logger.warn('sample table not rendered', { jobId: job.id, error })
            return undefined
          })
        : undefined
    await add(
      planFinished(job, {
        at: at(),
        role: job.requestedBy.via === 'slack' ? deps.access.roleOf(job.requestedBy.id) : undefined,
        mentions: await mentions(job),
        sample,
      }),
    )
  }

  const onEvent = async (event: JobEvent) => {
    const { job } = event
    if (!(await announced(job))) return
    switch (event.type) {
      case 'job:created':
        progress.touch(job.id)
        return
      case 'job:progress': {
        progress.touch(job.id)
        const milestone = milestoneOf(event.progress, milestoneMinTotal)
        if (milestone) {
          const item = planMilestone(job, event.progress, {
            at: at(),
            mentions: await mentions(job),
          })
          if (!(await outbox.knows(item.id))) await add([item])
        }
        return
      }
      case 'job:finished':
        // No update of the running state may land after the outcome, which another replica may send at once.
        progress.finish(job.id)
        await progress.settle(job.id)
        await planOutcome(job)
        return
      case 'job:expired':
        progress.finish(job.id)
        return
    }
  }
  const unsubscribe = engine.subscribe(onEvent)

  // Outcomes of jobs that ended while nothing listened (a crash between the job's end and the outbox write). On a
  // fresh outbox nothing is known about earlier runs: jobs that ended before it are taken as announced.
  const jobs = engine.listJobs(Number.MAX_SAFE_INTEGER)
  await outbox.prune(new Set(jobs.map((job) => job.id)))
  const ended: Job[] = []
  for (const job of jobs) {
    if (job.status !== 'completed' && job.status !== 'failed') continue
    if ((await announced(job)) && !(await outbox.knows(resultId(job.id)))) ended.push(job)
  }
  if (outbox.fresh) await outbox.settleUnsent(ended.map((job) => resultId(job.id)))
  else for (const job of ended) await planOutcome(job)
  courier.refresh()
  if (outbox.pending().length > 0)
    logger.info('Slack notifications waiting from before; sending', { count: outbox.pending().length })

  return {
    keep: (items) => add(items),
    knows: (id) => outbox.knows(id),
    idle: () => courier.idle(),
    async stop() {
      stopped = true
      unsubscribe()
      progress.stop()
      await courier.stop()
    },
  }
}
