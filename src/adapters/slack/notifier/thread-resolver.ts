import type { WebClient } from '@slack/web-api'
import type { Engine } from '../../../engine/engine.ts'
import type { Logger } from '../../../logger.ts'
import { parentMessage } from '../blocks/progress-blocks.ts'
import type { JobThread, JobThreads } from '../job-threads.ts'

/** The job has no thread yet, but one is expected shortly (the flow that started it links it after posting). */
export class WaitForThread extends Error {
  constructor(readonly retryInMs: number) {
    super(`the job's thread is not linked yet; trying again in ${retryInMs} ms`)
  }
}

/** The notification has nowhere to go, ever: the job is gone, or it never was a Slack job. */
export class NoThread extends Error {}

/** How long a fallback thread's mark holds other posters off: its post (with the client's retries) ends sooner. */
const fallbackExpectMs = 60_000

export interface ThreadResolverOptions {
  threads: JobThreads
  engine: Engine
  client: WebClient
  logger: Logger
  now: () => number
  /**
   * How long a Slack job may be without a thread before the notifier gives it one: a direct message to the
   * requester. Flows post their parent and link it right after creating the job; this only catches jobs whose
   * flow did not (an Undo pressed in `/jobs`, a link lost to a crash). Default 5000 ms.
   */
  graceMs: number
  /** The job's parent waits in the outbox (Slack did not take it yet): its thread is coming, however late. */
  parentPending: (jobId: string) => Promise<boolean>
}

export interface ThreadResolver {
  /** The job's thread, making the fallback one if the grace is over. Throws WaitForThread or NoThread. */
  resolve(jobId: string): Promise<JobThread>
}

export function createThreadResolver(options: ThreadResolverOptions): ThreadResolver {
  const { threads, engine, client, logger, now, graceMs, parentPending } = options
  const firstAskedAtMs = new Map<string, number>()
  const creating = new Map<string, Promise<JobThread>>()

  const createFallback = async (jobId: string): Promise<JobThread> => {
    const view = engine.getJob(jobId)
    if (!view) throw new NoThread(`job ${jobId} no longer exists`)
    const user = view.job.requestedBy.id
    // The mark makes this the one poster of the fallback: another replica (or the progress updates here) waits for
    // the link instead of posting a second direct message. It lapses if this one dies before linking.
    if (!(await threads.expect(jobId, fallbackExpectMs))) throw new WaitForThread(250)
    let thread: JobThread
    try {
      // A user id as the channel: Slack posts in the app's direct messages with that person.
      const posted = await client.chat.postMessage({
        channel: user,
        ...parentMessage(view.job, view.progress),
      })
      if (!posted.channel || !posted.ts) throw new Error('chat.postMessage answered without channel and ts')
      thread = { channel: posted.channel, ts: posted.ts, user }
    } catch (error) {
      await threads.unexpect(jobId)
      throw error
    }
    await threads.link(jobId, thread)
    logger.info('job had no Slack thread: started one in a direct message', { jobId, user })
    return thread
  }

  return {
    async resolve(jobId) {
      const linked = await threads.get(jobId)
      if (linked) return linked
      const job = engine.getJob(jobId)?.job
      if (!job) throw new NoThread(`job ${jobId} no longer exists and has no thread`)
      // A parent on its way (being posted, or kept until Slack answers) is waited for, past the grace.
      if ((await threads.expected(jobId)) || (await parentPending(jobId))) throw new WaitForThread(250)
      if (job.requestedBy.via !== 'slack') throw new NoThread(`job ${jobId} was not requested in Slack`)
      const first = firstAskedAtMs.get(jobId) ?? now()
      firstAskedAtMs.set(jobId, first)
      const waited = now() - first
      if (waited < graceMs) throw new WaitForThread(Math.min(250, graceMs - waited))
      let pending = creating.get(jobId)
      if (!pending) {
        pending = createFallback(jobId).finally(() => creating.delete(jobId))
        creating.set(jobId, pending)
      }
      return pending
    },
  }
}
