import { join } from 'node:path'
import type { WebClient } from '@slack/web-api'
import { afterEach, describe, expect, it } from 'vitest'
import { openJobThreads } from '../../src/adapters/slack/job-threads.ts'
import { createThreadResolver, WaitForThread } from '../../src/adapters/slack/notifier/thread-resolver.ts'
import { silentLogger } from '../../src/logger.ts'
import { type Harness, openHarness } from '../support/roster-harness.ts'

/**
 * A Slack job whose flow never linked a thread gets one in a direct message, once: two notifiers asking at the same
 * time (the progress updates of the replica running the job, the courier of another) make one post; the other waits
 * for the link.
 */
describe('the fallback thread', () => {
  let harness: Harness
  afterEach(async () => {
    await harness.close()
  })

  it('is posted once when two resolvers want it together, and both end up in it', async () => {
    harness = await openHarness()
    const job = await harness.engine.requestImport({
      connection: 'Username-Password-Authentication',
      fileName: 'users.json',
      bytes: Buffer.from('[{"email":"a@example.com"}]'),
      options: { upsert: false, merge: false, dryRun: false, sendCompletionEmail: false },
      requestedBy: { via: 'slack', id: 'U0001' },
    })
    const threads = await openJobThreads(join(harness.storeDir, 'slack-threads.json'))
    const posts: unknown[] = []
    const client = {
      chat: {
        postMessage: async (args: unknown) => {
          posts.push(args)
          await new Promise((resolve) => setTimeout(resolve, 20))
          return { ok: true, channel: 'D0001', ts: '1733371200.000100' }
        },
      },
    } as unknown as WebClient
    const resolver = () =>
      createThreadResolver({
        threads,
        engine: harness.engine,
        client,
        logger: silentLogger,
        now: Date.now,
        graceMs: 0,
        parentPending: async () => false,
      })
    const [first, second] = await Promise.allSettled([resolver().resolve(job.id), resolver().resolve(job.id)])
    const thread = { channel: 'D0001', ts: '1733371200.000100', user: 'U0001' }
    const outcomes = [first, second].map((outcome) => (outcome.status === 'fulfilled' ? 'thread' : 'waits'))
    expect(outcomes.sort()).toEqual(['thread', 'waits'])
    const waited = [first, second].find((outcome) => outcome.status === 'rejected')
    expect((waited as PromiseRejectedResult).reason).toBeInstanceOf(WaitForThread)
    expect(await resolver().resolve(job.id)).toEqual(thread)
    expect(posts).toHaveLength(1)
  })
})
