import type { IncomingMessage, ServerResponse } from 'node:http'
import { setTimeout as delay } from 'node:timers/promises'
import type { CallLog } from './call-log.ts'
import type { Faults } from './faults.ts'
import { type ParsedBody, parseBody, readBody, sendJson, sendText, tokenOf } from './http-body.ts'
import type { MethodHandler } from './method-args.ts'
import { chatMethods } from './methods-chat.ts'
import { fileMethods } from './methods-files.ts'
import { viewMethods } from './methods-views.ts'
import type { SocketModeHub } from './socket-mode.ts'
import { type Args, type EmulatorCall, type Fault, SlackApiError } from './types.ts'
import type { Workspace } from './workspace.ts'

export interface RouteDeps {
  ws: Workspace
  log: CallLog
  faults: Faults
  socket: SocketModeHub
  botToken: string
  appToken: string
}

type RouteKind = 'api' | 'upload' | 'download' | 'response_url'

/** `name` is what the call log and `failNext` use: the Web API method, or the route kind. */
interface Route {
  kind: RouteKind
  name: string
  id: string
}

/** How a request was answered, for the call log; `logged` replaces the request arguments when set. */
type Outcome = Omit<EmulatorCall, 'method' | 'at' | 'args'> & { logged?: Args }

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

/** Routes: `/api/<method>`, `/upload/v1/<file>`, `/files-pri/<team>-<file>/…`, `/response/<team>/<id>`, `/signin`. */
export function createRequestHandler(deps: RouteDeps) {
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
    const fault = deps.faults.take(route.name)
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

  download({ deps, route, req, res }) {
    const authorized = tokenOf(req) === deps.botToken
    const logged = { file_id: route.id, authorized }
    // Slack answers a missing or wrong token with a redirect to its sign-in page (HTML), not with 401.
    if (!authorized) {
      const location = `${deps.ws.config.baseUrl}/signin?redir=${encodeURIComponent(req.url ?? '/')}`
      res.writeHead(302, { location })
      res.end()
      return { status: 302, logged }
    }
    const entry = deps.ws.files.get(route.id)
    if (!entry?.bytes || deps.ws.uploads.has(route.id)) {
      sendText(res, 404, 'file_not_found')
      return { status: 404, logged }
    }
    const disposition = `attachment; filename="${encodeURIComponent(entry.file.name)}"`
    res.writeHead(200, {
      'content-type': entry.file.mimetype,
      'content-length': entry.bytes.length,
      ...((req.url ?? '').includes('/download/') ? { 'content-disposition': disposition } : {}),
    })
    res.end(entry.bytes)
    return { status: 200, logged }
  },

  response_url({ deps, route, res, args }) {
    const target = deps.ws.responseUrls.get(route.id)
    if (!target) {
      sendText(res, 404, 'no_active_hooks')
      return { status: 404 }
    }
    target.uses += 1
    try {
      deps.ws.applyResponse(target, args)
    } catch (error) {
      if (!(error instanceof SlackApiError)) throw error
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
    return { ok: true, ...(await handler(args, { ws: deps.ws, socket: deps.socket })) }
  } catch (error) {
    if (error instanceof SlackApiError) return errorBody(error)
    throw error
  }
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
