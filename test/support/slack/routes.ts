import type { IncomingMessage, ServerResponse } from 'node:http'
import { setTimeout as delay } from 'node:timers/promises'
import { messageProblems } from './block-kit.ts'
import type { CallLog } from './call-log.ts'
import type { Faults } from './faults.ts'
import { answerCdn, answerDownload } from './file-routes.ts'
import { type ParsedBody, parseBody, readBody, sendJson, sendText, tokenOf } from './http-body.ts'
import { slackRules } from './limits.ts'
import type { MethodHandler } from './method-args.ts'
import { chatMethods } from './methods-chat.ts'
import { fileMethods } from './methods-files.ts'
import { viewMethods } from './methods-views.ts'
import type { SocketModeHub } from './socket-mode.ts'
import { type Args, type EmulatorCall, type Fault, SlackApiError } from './types.ts'
import { invalidArguments, invalidBlocks, SlackRuleError } from './violations.ts'
import type { Workspace } from './workspace.ts'

export interface RouteDeps {
  ws: Workspace
  log: CallLog
  faults: Faults
  socket: SocketModeHub
  botToken: string
  appToken: string
}

type RouteKind = 'api' | 'upload' | 'download' | 'file_cdn' | 'response_url'

/** `name` is what the call log and `failNext` use: the Web API method, or the route kind. */
interface Route {
  kind: RouteKind
  name: string
  id: string
}

/** How a request was answered, for the call log; `logged` replaces the request arguments when set. */
export type Outcome = Omit<EmulatorCall, 'method' | 'at' | 'args'> & { logged?: Args }

interface RequestContext {
  deps: RouteDeps
  route: Route
  req: IncomingMessage
  res: ServerResponse
  raw: Buffer
  parsed: ParsedBody
  /** The arguments without `token`. */
  args: Args
}

const methods: Record<string, MethodHandler> = { ...chatMethods, ...fileMethods, ...viewMethods }

/**
 * Allowance for timer rounding: a retry this close to the end of its Retry-After is not counted as early
 * (setTimeout may fire a millisecond before Date.now() says the wait is over).
 */
const retryAfterGraceMs = 10

/**
 * Routes: `/api/<method>`, `/upload/v1/<file>`, `/files-pri/<team>-<file>/…`, `/cdn/<team>-<file>/<key>/…` (the
 * CDN origin), `/response/<team>/<id>`, `/signin`.
 */
export function createRequestHandler(deps: RouteDeps) {
  /** Route name → when its last 429's Retry-After ends (epoch ms). */
  const limitedUntil = new Map<string, number>()
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname
    if (req.method === 'GET' && path === '/signin') return sendLoginPage(res)
    const route = routeOf(req.method ?? 'GET', path)
    const log = (route: Route, args: Args, outcome: Outcome) => {
      const { logged, ...call } = outcome
      deps.log.record({ method: route.name, args: logged ?? args, at: new Date().toISOString(), ...call })
    }
    if (deps.faults.down) {
      req.socket.destroy()
      if (route) log(route, {}, { status: 0, fault: 'down' })
      return
    }
    if (!route) return sendText(res, 404, 'not_found')
    const raw = await readBody(req)
    let parsed: ParsedBody
    try {
      parsed = await parseBody(req, raw)
    } catch (error) {
      if (!(error instanceof SlackApiError)) throw error
      sendJson(res, 200, errorBody(error))
      return log(route, {}, { status: 200, ok: false, error: error.error })
    }
    const { token: _token, ...args } = parsed.args
    // chat.postMessage is limited per channel (about one message a second each); other methods per method.
    const rateKey =
      route.name === 'chat.postMessage' && typeof args.channel === 'string'
        ? `${route.name}:${args.channel}`
        : route.name
    const waitMs = (limitedUntil.get(rateKey) ?? 0) - Date.now()
    if (waitMs > retryAfterGraceMs) {
      // Slack refuses a call made before its Retry-After passed, again with 429: the app did not wait.
      const message = `called ${waitMs} ms before the Retry-After of the previous 429 passed`
      deps.ws.violations.record(route.name, [{ rule: 'retryAfter', pointer: '', message }])
      const retryAfterS = String(Math.ceil(waitMs / 1000))
      sendJson(res, 429, { ok: false, error: 'ratelimited' }, { 'retry-after': retryAfterS })
      return log(route, args, { status: 429, ok: false, error: 'ratelimited' })
    }
    const fault = deps.faults.take(route.name)
    if (fault?.kind === 'ratelimited') limitedUntil.set(rateKey, Date.now() + fault.retryAfterS * 1000)
    if (fault?.kind === 'delay') await delay(fault.ms)
    const outcome =
      fault && fault.kind !== 'delay'
        ? answerFault(req, res, fault)
        : await handlers[route.kind]({ deps, route, req, res, raw, parsed, args })
    log(route, args, { ...outcome, ...(fault ? { fault: fault.kind } : {}) })
  }
}

const handlers: Record<RouteKind, (ctx: RequestContext) => Outcome | Promise<Outcome>> = {
  async api({ deps, route, req, res, parsed }) {
    const body = await callMethod(deps, route.name, req, parsed.args)
    sendJson(res, 200, body)
    return { status: 200, ok: body.ok === true, ...(body.ok ? {} : { error: String(body.error) }) }
  },

  upload({ deps, route, req, res, raw, parsed }) {
    const upload = deps.ws.uploads.get(route.id)
    if (!upload) {
      sendText(res, 404, 'file_not_found')
      return { status: 404, logged: { file_id: route.id } }
    }
    // The SDK posts multipart with one part named `body`; Slack also takes the raw bytes.
    const multipart = (req.headers['content-type'] ?? '').startsWith('multipart/')
    const bytes = multipart ? (parsed.binaries.get('body') ?? [...parsed.binaries.values()][0]) : raw
    upload.bytes = bytes ?? Buffer.alloc(0)
    sendText(res, 200, `OK - ${upload.bytes.length}`)
    return {
      status: 200,
      logged: { file_id: route.id, filename: upload.filename, size: upload.bytes.length },
    }
  },

  download: ({ deps, route, req, res }) => answerDownload(deps, route.id, req, res),
  file_cdn: ({ deps, route, req, res }) => answerCdn(deps, route.id, req, res),

  response_url({ deps, route, res, args }) {
    const target = deps.ws.responseUrls.get(route.id)
    if (!target) {
      sendText(res, 404, 'no_active_hooks')
      return { status: 404 }
    }
    target.uses += 1
    const ageMs = Date.now() - target.issuedAtMs
    const spent =
      target.uses > slackRules.responseUrlUses.max
        ? {
            error: 'used_url',
            rule: 'responseUrlUses' as const,
            message: `post ${target.uses}; Slack takes 5`,
          }
        : ageMs > slackRules.responseUrlTtlMs.max
          ? {
              error: 'expired_url',
              rule: 'responseUrlTtlMs' as const,
              message: `posted ${ageMs} ms after issue`,
            }
          : undefined
    if (spent) {
      deps.ws.violations.record('response_url', [{ rule: spent.rule, pointer: '', message: spent.message }])
      sendText(res, 404, spent.error)
      return { status: 404, ok: false, error: spent.error }
    }
    try {
      deps.ws.applyResponse(target, args)
    } catch (error) {
      if (!(error instanceof SlackApiError)) throw error
      if (error instanceof SlackRuleError) deps.ws.violations.record('response_url', error.problems)
      sendText(res, 400, error.error)
      return { status: 400, ok: false, error: error.error }
    }
    sendJson(res, 200, { ok: true })
    return { status: 200, ok: true }
  },
}

async function callMethod(deps: RouteDeps, method: string, req: IncomingMessage, args: Args): Promise<Args> {
  const handler = methods[method]
  if (!handler) return { ok: false, error: 'unknown_method' }
  const token = tokenOf(req, args)
  const wanted = method === 'apps.connections.open' ? deps.appToken : deps.botToken
  if (!token) return { ok: false, error: 'not_authed' }
  if (token !== wanted) {
    const otherKind = token === deps.appToken || token === deps.botToken
    return { ok: false, error: otherKind ? 'not_allowed_token_type' : 'invalid_auth' }
  }
  try {
    checkEncoding(args)
    return { ok: true, ...(await handler(args, { ws: deps.ws, socket: deps.socket })) }
  } catch (error) {
    if (error instanceof SlackRuleError) deps.ws.violations.record(method, error.problems)
    if (error instanceof SlackApiError) return errorBody(error)
    throw error
  }
}

/** Every string of every method must be valid UTF-16; in `blocks` Slack calls it `invalid_blocks`. */
function checkEncoding(args: Args): void {
  const problems = messageProblems({ ...args, blocks: undefined }).concat(
    messageProblems({ blocks: args.blocks }).filter((p) => p.rule === 'utf16'),
  )
  if (problems.length === 0) return
  throw problems.some((p) => p.pointer.startsWith('/blocks'))
    ? invalidBlocks(problems)
    : invalidArguments(problems)
}

function errorBody(error: SlackApiError): Args {
  return { ok: false, error: error.error, ...error.extra }
}

function answerFault(
  req: IncomingMessage,
  res: ServerResponse,
  fault: Exclude<Fault, { kind: 'delay' }>,
): Outcome {
  switch (fault.kind) {
    case 'down':
      req.socket.destroy()
      return { status: 0 }
    case 'ratelimited':
      sendJson(res, 429, { ok: false, error: 'ratelimited' }, { 'retry-after': String(fault.retryAfterS) })
      return { status: 429, ok: false, error: 'ratelimited' }
    case 'error':
      sendJson(res, 200, { ok: false, error: fault.error })
      return { status: 200, ok: false, error: fault.error }
    case 'http':
      sendText(res, fault.status, `emulated HTTP ${fault.status}`)
      return { status: fault.status }
  }
}

function routeOf(method: string, path: string): Route | undefined {
  const api = /^\/api\/([A-Za-z0-9_.]+)$/.exec(path)?.[1]
  if (api) return { kind: 'api', name: api, id: '' }
  if (method === 'POST') {
    const upload = /^\/upload\/v1\/([A-Z0-9]+)$/.exec(path)?.[1]
    if (upload) return { kind: 'upload', name: 'upload', id: upload }
    const response = /^\/response\/[^/]+\/([A-Z0-9]+)$/.exec(path)?.[1]
    if (response) return { kind: 'response_url', name: 'response_url', id: response }
  }
  const file = /^\/files-pri\/[^/]+-([A-Z0-9]+)\/(?:download\/)?[^/]+$/.exec(path)?.[1]
  if (file && method === 'GET') return { kind: 'download', name: 'download', id: file }
  const cdn = /^\/cdn\/[^/]+-[A-Z0-9]+\/([0-9a-f]+)\/[^/]+$/.exec(path)?.[1]
  if (cdn && method === 'GET') return { kind: 'file_cdn', name: 'file_cdn', id: cdn }
  return undefined
}

function sendLoginPage(res: ServerResponse): void {
  const html =
    '<!DOCTYPE html><html><head><title>Slack</title></head><body><h1>Sign in to Slack</h1></body></html>'
  res.writeHead(200, {
    'content-type': 'text/html; charset=utf-8',
    'content-length': Buffer.byteLength(html),
  })
  res.end(html)
}
