import { beforeEach, expect, it } from 'vitest'
import type { JobThreads } from '../../src/adapters/slack/job-threads.ts'
import { poll } from '../support/roster-process.ts'

/** Empty thread links, and a second handle on them (a restart, or another replica). */
export interface JobThreadsLocation {
  threads: JobThreads
  reopen(): Promise<JobThreads>
}

const thread = { channel: 'C0001', ts: '1733371200.000100', user: 'U0001' }

/** What every JobThreads adapter does. */
export function jobThreadsContract(
  open: () => Promise<JobThreadsLocation>,
  options: { shared: boolean },
): void {
  let location: JobThreadsLocation
  beforeEach(async () => {
    location = await open()
  })

  it('links a job to its thread, for later readers too', async () => {
    const { threads } = location
    expect(await threads.get('job_a')).toBeUndefined()
    await threads.link('job_a', thread)
    expect(await threads.get('job_a')).toEqual(thread)
    expect(await (await location.reopen()).get('job_a')).toEqual(thread)
  })

  it('relinks a job (an import speaks in its dry run’s thread)', async () => {
    await location.threads.link('job_a', thread)
    await location.threads.link('job_a', { ...thread, ts: '1733371300.000200' })
    expect((await location.threads.get('job_a'))?.ts).toBe('1733371300.000200')
  })

  it('marks a job expected once: the first caller owns its parent, until linked or unexpected', async () => {
    const { threads } = location
    expect(await threads.expected('job_a')).toBe(false)
    expect(await threads.expect('job_a')).toBe(true)
    expect(await threads.expect('job_a')).toBe(false)
    expect(await threads.expected('job_a')).toBe(true)
    await threads.unexpect('job_a')
    expect(await threads.expected('job_a')).toBe(false)
    expect(await threads.expect('job_a')).toBe(true)
    await threads.link('job_a', thread)
    expect(await threads.expected('job_a')).toBe(false)
    expect(await threads.expect('job_a')).toBe(false)
    await threads.unexpect('job_a')
    expect(await threads.get('job_a')).toEqual(thread)
  })

  it('lets a mark lapse after its time: a poster that died does not hold the job forever', async () => {
    const { threads } = location
    expect(await threads.expect('job_a', 100)).toBe(true)
    await poll('the mark lapsed', async () => ((await threads.expected('job_a')) ? undefined : true))
    expect(await threads.expect('job_a')).toBe(true)
  })

  it('forgets the threads of jobs that are gone', async () => {
    await location.threads.link('job_a', thread)
    await location.threads.link('job_b', thread)
    await location.threads.prune(new Set(['job_b']))
    expect(await location.threads.get('job_a')).toBeUndefined()
    expect(await location.threads.get('job_b')).toEqual(thread)
  })

  it.runIf(options.shared)('shows a mark made on one replica to the others, who wait for it', async () => {
    const other = await location.reopen()
    expect(await location.threads.expect('job_a')).toBe(true)
    expect(await other.expected('job_a')).toBe(true)
    expect(await other.expect('job_a')).toBe(false)
    await location.threads.link('job_a', thread)
    expect(await other.get('job_a')).toEqual(thread)
    expect(await other.expected('job_a')).toBe(false)
  })

  it.runIf(options.shared)('gives the mark to exactly one of many callers at once', async () => {
    const other = await location.reopen()
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => (i % 2 ? other : location.threads).expect('job_a')),
    )
    expect(results.filter(Boolean)).toHaveLength(1)
  })
}
