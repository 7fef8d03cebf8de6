import { timingSafeEqual } from 'node:crypto'
import express, { type ErrorRequestHandler, type Express, type Router } from 'express'
import { AppError, asAppError } from '../../errors.ts'
import type { Logger } from '../../logger.ts'

export interface HealthReport {
  ok: boolean
  [key: string]: unknown
}

export interface HttpDeps {
  logger: Logger
  health: () => Promise<HealthReport> | HealthReport
  /**
   * The CLI's channel to a running Roster (one writer per store: the CLI asks the process that holds the store
   * instead of opening it). Authenticated by a token only readable from the store's lock file.
   */
  control?: { token: string; execute: (command: unknown) => Promise<unknown> }
  /** Largest control request (a CLI import carries its file), in bytes. */
  controlMaxBytes: number
  /** Routers of other adapters (Slack's `/slack/events`), mounted before any body parser touches a request. */
  routers?: Router[]
}

export function createHttpApp(deps: HttpDeps): Express {
  const app = express()
  app.disable('x-powered-by')
  // First: Bolt verifies Slack's signature over the raw body, which a body parser run before it would consume.
  for (const router of deps.routers ?? []) app.use(router)

  app.get('/healthz', async (_req, res) => {
    const report = await deps.health()
    res.status(report.ok ? 200 : 503).json(report)
  })

  const { control } = deps
  if (control) {
    app.post('/internal/control', express.json({ limit: deps.controlMaxBytes }), async (req, res) => {
      // The CLI runs on the same machine: the control channel answers loopback only, whatever PORT is exposed.
      if (
        !isLoopback(req.socket.remoteAddress) ||
        !tokenMatches(req.get('x-roster-control'), control.token)
      ) {
        res.status(401).json({ ok: false, error: { code: 'unauthorized', message: 'Bad control token.' } })
        return
      }
      try {
        res.json({ ok: true, result: await control.execute(req.body) })
      } catch (error) {
        const appError = asAppError(error)
        if (appError.code === 'unexpected') deps.logger.error('control command failed', { error })
        res.json({ ok: false, error: { code: appError.code, message: appError.message } })
      }
    })
  }

  const onError: ErrorRequestHandler = (error, _req, res, _next) => {
    const status = typeof error?.status === 'number' ? error.status : 500
    if (status >= 500) deps.logger.error('http request failed', { error })
    const message =
      error instanceof AppError ? error.message : status >= 500 ? 'Internal error.' : error.message
    res.status(status).json({ statusCode: status, message })
  }
  app.use(onError)
  return app
}

function isLoopback(address: string | undefined): boolean {
  return (
    address === '::1' || address?.startsWith('127.') === true || address?.startsWith('::ffff:127.') === true
  )
}

function tokenMatches(given: string | undefined, expected: string): boolean {
  if (given === undefined) return false
  const a = Buffer.from(given)
  const b = Buffer.from(expected)
  return a.length === b.length && timingSafeEqual(a, b)
}
