import { Worker } from 'node:worker_threads'
import type { SlackEmulator } from '../../test/support/slack/emulator.ts'
import { commandRequest } from '../../test/support/slack/interactions.ts'

/**
 * Signed `/jobs` slash commands sent every `intervalMs` from a worker thread: the client has its own event loop
 * (and its own CPU time), like Slack's servers, so a busy server does not also slow the clock measuring it.
 * Bodies are made here with the emulator (a registered response_url and trigger_id each), signed in the worker
 * with the time of sending.
 */

export interface Acks {
  /** Milliseconds from sending to the response headers, for every command, answered or not. */
  ms: number[]
  /** Commands not answered 200 (Bolt answers 404 when no listener acked within 3 s: Slack shows an error). */
  failed: number
  statuses: string[]
}

export interface Ticker {
  stop(): Promise<Acks>
}

/**
 * The worker: POSTs a body signed as Slack signs (v0 HMAC-SHA256 of `v0:<timestamp>:<body>`, as
 * test/support/slack/signing.ts) every `intervalMs` until told to stop, then reports every response time. Plain
 * JavaScript evaluated in the worker: a worker thread does not get the tsx loader the main thread runs under.
 */
const workerSource = `
const { parentPort, workerData } = require('node:worker_threads')
const { createHmac } = require('node:crypto')
const { appUrl, secret, bodies, intervalMs } = workerData
const pending = []
let sent = 0
async function send(body) {
  const timestampS = Math.floor(Date.now() / 1000)
  const signature = 'v0=' + createHmac('sha256', secret).update('v0:' + timestampS + ':' + body).digest('hex')
  const start = performance.now()
  try {
    const response = await fetch(appUrl, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-slack-request-timestamp': String(timestampS),
        'x-slack-signature': signature,
      },
      body,
    })
    const ms = performance.now() - start
    await response.arrayBuffer()
    return { ms, status: String(response.status) }
  } catch (error) {
    return { ms: performance.now() - start, status: String(error && error.message) }
  }
}
const timer = setInterval(() => pending.push(send(bodies[sent++ % bodies.length])), intervalMs)
parentPort.on('message', async () => {
  clearInterval(timer)
  const answers = await Promise.all(pending)
  const failures = answers.filter((a) => a.status !== '200')
  parentPort.postMessage({
    ms: answers.map((a) => a.ms),
    failed: failures.length,
    statuses: [...new Set(failures.map((a) => a.status))],
  })
})
parentPort.postMessage('ready')
`

export async function startTicker(
  emulator: SlackEmulator,
  appUrl: string,
  { user, intervalMs }: { user: string; intervalMs: number },
): Promise<Ticker> {
  const bodies = Array.from({ length: 64 }, () =>
    new URLSearchParams(commandRequest(emulator, '/jobs', { user }).fields).toString(),
  )
  const worker = new Worker(workerSource, {
    eval: true,
    workerData: { appUrl, secret: emulator.signingSecret, bodies, intervalMs },
  })
  const failedToStart = new Promise<never>((_, reject) => worker.once('error', reject))
  await Promise.race([new Promise((resolve) => worker.once('message', resolve)), failedToStart])
  return {
    async stop() {
      const results = new Promise<Acks>((resolve) => worker.once('message', resolve))
      worker.postMessage('stop')
      const acks = await Promise.race([results, failedToStart])
      await worker.terminate()
      return acks
    },
  }
}
