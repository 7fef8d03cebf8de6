import type { AddressInfo } from 'node:net'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import express from 'express'
import { loadConfig } from '../../src/config.ts'
import { silentLogger } from '../../src/logger.ts'
import { openRoster } from '../../src/roster.ts'
import { startServer } from '../../src/server.ts'
import { type SlackEmulator, startSlackEmulator } from '../../test/support/slack/emulator.ts'
import { slackSignature } from '../../test/support/slack/signing.ts'
import { count, type Scenario } from '../support/context.ts'
import { importFile } from '../support/generate.ts'
import { describeProfile, profile } from '../support/profile.ts'
import type { Row } from '../support/report.ts'
import { benchRequester, importDone, queueImport, storeEnv } from '../support/roster.ts'
import { type Acks, startTicker } from '../support/slack-ticker.ts'
import { quantile, summarize } from '../support/stats.ts'

/**
 * P5: Slack responsiveness under load. Roster runs as main.ts runs it (real HTTP server on port 0, Bolt, the
 * Slack emulator for the Web API); signed `/jobs` commands arrive every 50 ms while a P1 import into a 1M-user
 * tenant and a CSV export of that tenant run. Ack latency is the HTTP response time of each command; the event-loop
 * stall is the largest delay `monitorEventLoopDelay` sees in this process (Roster's process). Floor: a bare express
 * app checking the same signature and answering the same signed POSTs, on the same machine, in the same run.
 * The commands come from a worker thread (slack-ticker.ts): the client's clock and CPU are not Roster's loop's.
 */

const admin = 'UADMIN1'
const intervalMs = 50
const targetP99 = 100
const targetStall = 50

const tick = (emulator: SlackEmulator, appUrl: string) =>
  startTicker(emulator, appUrl, { user: admin, intervalMs })

/** A bare express app that checks Slack's signature and acks, like any slash-command endpoint at its simplest. */
async function bareFloor(emulator: SlackEmulator, commands: number): Promise<Acks> {
  const app = express()
  app.post('/slack/events', express.text({ type: '*/*' }), (req, res) => {
    const timestamp = Number(req.get('x-slack-request-timestamp'))
    const ok =
      req.get('x-slack-signature') === slackSignature(emulator.signingSecret, timestamp, req.body as string)
    res.status(ok ? 200 : 401).json({ response_type: 'ephemeral', text: 'ok' })
  })
  const server = app.listen(0, '127.0.0.1')
  await new Promise((resolve) => server.once('listening', resolve))
  try {
    const { port } = server.address() as AddressInfo
    const ticker = await tick(emulator, `http://127.0.0.1:${port}/slack/events`)
    await new Promise((resolve) => setTimeout(resolve, commands * intervalMs))
    return await ticker.stop()
  } finally {
    await new Promise((resolve) => server.close(resolve))
  }
}

interface Load {
  acks: Acks
  stallMs: number
  meanDelayMs: number
  seconds: number
}

export const p5: Scenario = {
  id: 'P5',
  title: 'Slack responsiveness: /jobs every 50 ms during an import and an export',
  stores: ['embedded', 'postgres'],
  async run(ctx) {
    // The same tenant on both stores: PostgreSQL exports now read the stored JSON by COPY pages (P4), so a 1M-user
    // export lasts long enough on either to give a few hundred commands a run.
    const onPg = ctx.store === 'postgres'
    const users = ctx.quick ? (onPg ? 20_000 : 50_000) : 1_000_000
    const runs = ctx.quick ? 1 : 2
    const store = await ctx.tenant(users)
    const emulator = await startSlackEmulator()
    const config = loadConfig({
      ...storeEnv(store),
      PORT: '0',
      SLACK_BOT_TOKEN: emulator.botToken,
      SLACK_SIGNING_SECRET: emulator.signingSecret,
      SLACK_API_URL: emulator.apiUrl,
      SLACK_ADMINS: admin,
      LOG_LEVEL: 'silent',
      BACKUP_CRON: 'off',
    })
    const roster = await openRoster(config, { logger: silentLogger })
    const server = await startServer(roster, config, silentLogger).catch(async (error: unknown) => {
      await roster.close()
      await emulator.close()
      throw error
    })
    try {
      const appUrl = `http://127.0.0.1:${server.port}/slack/events`
      // Warm-up (Bolt's first requests), then Roster with no job running: what the load adds is the difference.
      const idle = async (ms: number) => {
        const ticker = await tick(emulator, appUrl)
        await new Promise((resolve) => setTimeout(resolve, ms))
        return ticker.stop()
      }
      await idle(1000)
      const idleAcks = await idle(ctx.quick ? 2000 : 5000)
      let next = 0
      const underLoad = async (): Promise<Load> => {
        const file = importFile(next)
        next = file.next
        const loop = monitorEventLoopDelay({ resolution: 10 })
        const ticker = await tick(emulator, appUrl)
        loop.enable()
        const start = performance.now()
        const exported = roster.engine
          .requestExport({ format: 'csv', gzip: false, requestedBy: benchRequester })
          .then((job) => roster.engine.waitFor(job.id))
        const imported = queueImport(roster, store.connection, file.text).then((id) =>
          importDone(roster, id, file.users),
        )
        const [exportJob] = await Promise.all([exported, imported])
        const seconds = (performance.now() - start) / 1000
        loop.disable()
        const acks = await ticker.stop()
        if (exportJob.status !== 'completed') throw new Error(`the export ended ${exportJob.status}`)
        return { acks, stallMs: loop.max / 1e6, meanDelayMs: loop.mean / 1e6, seconds }
      }
      const loads: Load[] = []
      for (let run = 0; run < runs; run++) {
        const load = await underLoad()
        ctx.log(
          `  P5 run ${run + 1}: ${load.acks.ms.length} commands in ${load.seconds.toFixed(1)} s, ${load.acks.failed} not acked, p99 ${quantile(load.acks.ms, 0.99).toFixed(0)} ms, stall ${load.stallMs.toFixed(0)} ms`,
        )
        loads.push(load)
      }
      const floorAcks = await bareFloor(emulator, ctx.quick ? 60 : 200)
      const p = (q: number) => summarize(loads.map((l) => quantile(l.acks.ms, q)))
      const floorP50 = summarize([quantile(floorAcks.ms, 0.5)])
      const floorP99 = summarize([quantile(floorAcks.ms, 0.99)])
      const failed = loads.reduce((n, l) => n + l.acks.failed, 0)
      const sent = loads.reduce((n, l) => n + l.acks.ms.length, 0)
      const statuses = [...new Set(loads.flatMap((l) => [...l.acks.statuses]))]
      const p50 = p(0.5)
      const p99 = p(0.99)
      const stall = summarize(loads.map((l) => l.stallMs))
      const rows: Row[] = [
        {
          label: '/jobs ack latency p99, Roster idle (no job running)',
          unit: 'ms',
          value: summarize([quantile(idleAcks.ms, 0.99)]),
          floor: floorP99,
          ratio: quantile(idleAcks.ms, 0.99) / floorP99.median,
        },
        {
          label: '/jobs ack latency p50',
          unit: 'ms',
          value: p50,
          floor: floorP50,
          ratio: p50.median / floorP50.median,
        },
        {
          label: '/jobs ack latency p99',
          unit: 'ms',
          value: p99,
          floor: floorP99,
          ratio: p99.median / floorP99.median,
          target: `≤ ${targetP99} ms`,
          met: p99.median <= targetP99,
        },
        {
          label: 'max event-loop stall',
          unit: 'ms',
          value: stall,
          target: `≤ ${targetStall} ms`,
          met: stall.median <= targetStall,
        },
      ]
      const notes = [
        `Tenant of ${count(users)} users; each run: a ~500 KB import and a CSV export of the whole tenant at once, ${Math.round(sent / runs)} commands per run (a run lasts as long as both jobs). Floor: ${floorAcks.ms.length} commands to a bare express app, idle machine. Stall resolution 10 ms. The export hands the loop back after each ~4 ms of rows (src/engine/export.ts), the import’s planning after ~8 ms (plan-in-slices.ts); an ack takes several turns of the loop, each of which may wait for one such slice.`,
      ]
      if (failed > 0 || floorAcks.failed > 0)
        notes.push(
          `${failed} of ${sent} commands were not acked (answered ${statuses.join(', ')}; Bolt answers 404 when no listener acks within 3 s), ${floorAcks.failed} at the floor; their response time counts in the percentiles.`,
        )
      notes.push(
        `Event-loop delay under load: mean ${(loads.reduce((n, l) => n + l.meanDelayMs, 0) / runs).toFixed(0)} ms (max above). Idle Roster p50 ${quantile(idleAcks.ms, 0.5).toFixed(1)} ms.`,
      )
      if (rows.some((row) => row.met === false)) {
        const { summary } = await profile(underLoad)
        notes.push(`under load: ${describeProfile(summary).join(' — ')}`)
      }
      return { rows, notes }
    } finally {
      await server.close()
      await emulator.close()
    }
  },
}
