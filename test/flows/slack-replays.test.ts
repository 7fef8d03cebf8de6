import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { ExportJob } from '../../src/domain/jobs/job.ts'
import { commandRequest, eventRequest, fileDrop } from '../support/slack/interactions.ts'
import type { Args } from '../support/slack/types.ts'
import { openSlackHarness, type SlackHarness, slackAdmin } from '../support/slack-harness.ts'

/**
 * A signed Slack request captured off the wire and sent again within Slack's 5-minute window (or a retried event)
 * runs once: acknowledged, not run again.
 */

const channel = 'C0GENERAL'
const form = 'application/x-www-form-urlencoded'
const upa = 'Username-Password-Authentication'

let h: SlackHarness
beforeEach(async () => {
  h = await openSlackHarness()
  const job = await h.roster.engine.requestImport({
    connection: upa,
    fileName: 'seed.json',
    bytes: Buffer.from(JSON.stringify([{ email: 'a@example.com' }])),
    options: { upsert: false, merge: false, dryRun: false, sendCompletionEmail: false },
    requestedBy: { via: 'cli', id: 'seed' },
  })
  await h.roster.engine.waitFor(job.id)
})
afterEach(async () => {
  await h.close()
})

/** The exact signed body of one slash command, to send as many times as a replayer would. */
function capturedCommand(command: string, text = ''): string {
  const { fields } = commandRequest(h.emulator, command, { user: slackAdmin, channel, text })
  return new URLSearchParams(fields).toString()
}

const jobsReads = async () =>
  (await h.roster.audit.recent(100)).filter((entry) => entry.action === 'jobs.read').length

describe('replayed signed requests', () => {
  it('answers a replayed /jobs with an empty ack, and runs (and audits) it once', async () => {
    const body = capturedCommand('/jobs')
    const first = await h.driver.send(body, form)
    expect(first.json).toMatchObject({ response_type: 'ephemeral', text: 'Jobs 1–1 of 1' })
    const replay = await h.driver.send(body, form)
    expect(replay.status).toBe(200)
    expect(replay.body).toBe('')
    expect(await jobsReads()).toBe(1)
    // The same command with a trigger of its own is a new request.
    const again = await h.driver.command('/jobs', { user: slackAdmin, channel })
    expect(again.json).toMatchObject({ text: 'Jobs 1–1 of 1' })
    expect(await jobsReads()).toBe(2)
  })

  it('starts one export for a replayed /export', async () => {
    const body = capturedCommand('/export', `${upa} csv sample`)
    const [first, replay] = [await h.driver.send(body, form), await h.driver.send(body, form)]
    expect([first.status, replay.status]).toEqual([200, 200])
    await h.emulator.waitFor('files.completeUploadExternal', (_args, call) => call.ok === true, 20_000)
    const exports = h.roster.engine
      .listJobs(100)
      .filter((job): job is ExportJob => job.type === 'users_export')
    expect(exports).toHaveLength(1)
    expect(h.emulator.calls.filter((call) => call.method === 'files.completeUploadExternal')).toHaveLength(1)
  })

  it('acks a retried event (X-Slack-Retry-Num) that was handled, and does not run it again', async () => {
    const offersOf = (name: string) =>
      h.emulator.calls.filter(
        (call) => call.method.startsWith('chat.') && JSON.stringify(call.args).includes(name),
      )
    const { events } = fileDrop(h.emulator, {
      name: 'first.json',
      content: '[{"email":"b@example.com"}]',
      user: slackAdmin,
    })
    const body = JSON.stringify(eventRequest(h.emulator, events[0] as Args).body)
    expect((await h.driver.send(body, 'application/json')).status).toBe(200)
    await h.emulator.waitFor(
      'chat.postMessage',
      (args) => JSON.stringify(args).includes('first.json'),
      10_000,
    )
    const retry = await h.driver.send(body, 'application/json', { retryNum: 1, retryReason: 'http_timeout' })
    expect(retry.status).toBe(200)
    // A later drop is answered: by then the retry, sent before it, has been dealt with.
    await h.driver.dropFile({
      name: 'second.json',
      content: '[{"email":"c@example.com"}]',
      user: slackAdmin,
    })
    await h.emulator.waitFor(
      'chat.postMessage',
      (args) => JSON.stringify(args).includes('second.json'),
      10_000,
    )
    expect(offersOf('first.json')).toHaveLength(1)
  })
})
