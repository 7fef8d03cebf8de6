import type { RequestHandler, Response } from 'express'
import { type FaultRule, faultFor } from '../../domain/api/fault-rules.ts'
import type { Logger } from '../../logger.ts'
import { nameCall } from './api-auth.ts'
import { ApiError, envelope } from './api-errors.ts'

/**
 * API_FAULTS (tests only): answers chosen requests with a 5xx or no answer at all, so a Roster in front of this one
 * can be shown to survive what a real tenant does now and then. One instance serves `/oauth` and `/api/v2`, so
 * counts run across both; it runs after the audit (a fault is logged like any answer) and before the rate limit
 * (a failing edge answers before the API counts the call). Every fault is logged at warn.
 */
export function faultInjection(rules: readonly FaultRule[], logger: Logger): RequestHandler {
  const counts: number[] = rules.map(() => 0)
  return (req, res, next) => {
    const path = `${req.baseUrl}${req.path}`
    const rule = faultFor(rules, counts, req.method, path)
    if (!rule) return next()
    logger.warn('fault injection: API_FAULTS answers this request', { rule: rule.text, path })
    nameCall(res, `fault ${rule.answer.kind === 'hang' ? 'hang' : rule.answer.status}`)
    const answer = rule.answer
    if (answer.kind === 'hang') return hang(res, answer.holdMs)
    const body = faultBody(path, answer.status)
    if (!answer.after) {
      res.status(answer.status).json(body)
      return
    }
    // Carried out, then answered with the fault instead: what the handler would have sent is dropped.
    res.json = () => res.status(answer.status).send(JSON.stringify(body))
    res.type('application/json')
    next()
  }
}

/**
 * Holds the request without answering, as a stuck upstream does, until the client gives up (closes) or `holdMs`
 * has passed; then the socket is destroyed, so the client sees a dropped connection, never an answer.
 */
function hang(res: Response, holdMs: number): void {
  const timer = setTimeout(() => res.socket?.destroy(), holdMs)
  timer.unref()
  res.on('close', () => clearTimeout(timer))
}

/** Auth0's Management API envelope on `/api/v2`; OAuth's `{error, error_description}` on the token endpoint. */
function faultBody(path: string, status: number): Record<string, unknown> {
  const message = 'Service temporarily unavailable (fault injected by API_FAULTS).'
  if (path.startsWith('/oauth')) return { error: 'temporarily_unavailable', error_description: message }
  return envelope(new ApiError(status, message))
}
