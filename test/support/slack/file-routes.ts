import { randomBytes } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { sendText, tokenOf } from './http-body.ts'
import type { Outcome, RouteDeps } from './routes.ts'

/**
 * File downloads as Slack serves them. `url_private` answers the bytes to the bot token. `url_private_download`
 * answers the bot token with a 302 to the file CDN — another origin, a signed path, no token needed — as Slack's
 * file hosts often do. The CDN refuses (and records a violation for) a request that carries the bot token: an app
 * must not send its token to a redirect target on another host.
 */
export function answerDownload(
  deps: RouteDeps,
  fileId: string,
  req: IncomingMessage,
  res: ServerResponse,
): Outcome {
  const authorized = tokenOf(req) === deps.botToken
  const logged = { file_id: fileId, authorized }
  // Slack answers a missing or wrong token with a redirect to its sign-in page (HTML), not with 401.
  if (!authorized) {
    const location = `${deps.ws.config.baseUrl}/signin?redir=${encodeURIComponent(req.url ?? '/')}`
    res.writeHead(302, { location })
    res.end()
    return { status: 302, logged }
  }
  const entry = deps.ws.files.get(fileId)
  if (!entry?.bytes || deps.ws.uploads.has(fileId)) {
    sendText(res, 404, 'file_not_found')
    return { status: 404, logged }
  }
  if ((req.url ?? '').includes('/download/')) {
    const key = randomBytes(12).toString('hex')
    deps.ws.cdnKeys.set(key, fileId)
    const name = encodeURIComponent(entry.file.name)
    const location = `${deps.ws.config.cdnBaseUrl}/cdn/${deps.ws.config.teamId}-${fileId}/${key}/${name}`
    res.writeHead(302, { location })
    res.end()
    return { status: 302, logged }
  }
  return serveFile(deps, fileId, res, false, logged)
}

/** The CDN hop: the signed key is the credential; an `Authorization` header is the app leaking its token. */
export function answerCdn(deps: RouteDeps, key: string, req: IncomingMessage, res: ServerResponse): Outcome {
  const fileId = deps.ws.cdnKeys.get(key)
  const logged = { file_id: fileId ?? '', with_token: req.headers.authorization !== undefined }
  if (req.headers.authorization !== undefined) {
    deps.ws.violations.record('file_cdn', [
      { rule: 'fileCdnNoToken', pointer: '', message: 'the file CDN received an Authorization header' },
    ])
    sendText(res, 400, 'Only one auth mechanism allowed')
    return { status: 400, logged }
  }
  if (!fileId) {
    sendText(res, 403, 'AccessDenied')
    return { status: 403, logged }
  }
  return serveFile(deps, fileId, res, true, logged)
}

function serveFile(
  deps: RouteDeps,
  fileId: string,
  res: ServerResponse,
  attachment: boolean,
  logged: Record<string, unknown>,
): Outcome {
  const entry = deps.ws.files.get(fileId)
  if (!entry?.bytes) {
    sendText(res, 404, 'file_not_found')
    return { status: 404, logged }
  }
  const disposition = `attachment; filename="${encodeURIComponent(entry.file.name)}"`
  res.writeHead(200, {
    'content-type': entry.file.mimetype,
    'content-length': entry.bytes.length,
    ...(attachment ? { 'content-disposition': disposition } : {}),
  })
  res.end(entry.bytes)
  return { status: 200, logged }
}
