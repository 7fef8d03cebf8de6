import { randomBytes } from 'node:crypto'
import express, { type ErrorRequestHandler, type Request, type Response, Router } from 'express'
import { accessTokenPrefix } from '../../domain/api/api-client.ts'
import {
  badCredentials,
  type OAuthError,
  parseTokenRequest,
  scopesNotGranted,
} from '../../domain/api/oauth-token.ts'
import type { Engine } from '../../engine/engine.ts'
import type { Logger } from '../../logger.ts'
import { actAs, auditTarget, nameCall } from './api-auth.ts'

/**
 * `POST /oauth/token` (mounted at `/oauth`): Auth0's client-credentials grant for API clients (`roster clients
 * create`), with a JSON or a form body, as the official SDK and Auth0's docs send it. The token answers `/api/v2`
 * with the client's scopes until `expires_in` seconds have passed. Errors are OAuth's `{error, error_description}`.
 */
export function oauthTokenRoutes(
  engine: Engine,
  options: { publicUrl: () => string; logger: Logger },
): Router {
  const router = Router()
  const bodyLimit = { limit: 16 * 1024 }
  router.post(
    '/token',
    express.json(bodyLimit),
    express.urlencoded({ ...bodyLimit, extended: false }),
    async (req, res) => {
      nameCall(res, 'oauth.token')
      // No token answer may be cached by a proxy (RFC 6749 §5.1), errors included.
      res.setHeader('cache-control', 'no-store')
      res.setHeader('pragma', 'no-cache')
      const parsed = parseTokenRequest(req.body, audiences(req, options.publicUrl()))
      if (!parsed.ok) return refuse(res, parsed.error)
      auditTarget(res, parsed.request.clientId)
      const accessToken = `${accessTokenPrefix}${randomBytes(32).toString('base64url')}`
      const outcome = await engine.issueAccessToken({ ...parsed.request, accessToken })
      if (!outcome.ok) {
        return refuse(
          res,
          outcome.reason === 'bad_credentials' ? badCredentials : scopesNotGranted(outcome.scopes),
        )
      }
      actAs(res, { id: outcome.client.clientId, name: outcome.client.name, scopes: outcome.scopes })
      res.json({
        access_token: accessToken,
        token_type: 'Bearer',
        expires_in: outcome.expiresInSeconds,
        scope: outcome.scopes.join(' '),
      })
    },
  )
  const onError: ErrorRequestHandler = (error, _req, res, _next) => {
    const type = (error as { type?: unknown })?.type
    if (type === 'entity.parse.failed' || type === 'entity.too.large' || type === 'charset.unsupported') {
      refuse(res, { status: 400, error: 'invalid_request', error_description: 'Invalid request body.' })
      return
    }
    options.logger.error('token request failed', { error })
    res.status(500).json({ error: 'server_error', error_description: 'Internal error.' })
  }
  router.use(onError)
  return router
}

/**
 * The identifiers Roster answers to as Auth0's Management API: `https://<domain>/api/v2/`, the domain being how
 * the client reached Roster (its Host header; the SDK builds the audience from the domain it is given), or
 * PUBLIC_URL's.
 */
function audiences(req: Request, publicUrl: string): string[] {
  const host = req.get('host')
  const byHost = host ? [`https://${host}/api/v2/`, `http://${host}/api/v2/`] : []
  return [`${publicUrl}/api/v2/`, ...byHost]
}

function refuse(res: Response, error: OAuthError): void {
  const { status, ...body } = error
  res.status(status).json(body)
}
