import { AuthApiError, ManagementError, ManagementTimeoutError } from 'auth0'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { insufficientScopes, toAppError } from '../../src/adapters/auth0/auth0-errors.ts'
import { auth0SettingsSchema } from '../../src/adapters/auth0/settings.ts'

/** SDK errors → AppErrors with stable codes, naming the setting or scope, never the secret. */
const secret = 'rst_cs_supersecretvalue'
const settings = auth0SettingsSchema.parse({
  domain: 'acme.eu.auth0.com',
  clientId: 'abc',
  clientSecret: secret,
})
const tokenSettings = auth0SettingsSchema.parse({ domain: 'acme.eu.auth0.com', token: 'eyJ.static.token' })
const context = { settings, doing: 'testing' }

function management(statusCode: number, body: unknown): ManagementError {
  return new ManagementError({ statusCode, body })
}

describe('toAppError', () => {
  it('names the scope Auth0 says is missing', () => {
    const error = management(403, {
      statusCode: 403,
      error: 'Forbidden',
      message: 'Insufficient scope, expected any of: delete:users,delete:current_user',
      errorCode: 'insufficient_scope',
    })
    expect(insufficientScopes(error)).toEqual(['delete:users', 'delete:current_user'])
    const mapped = toAppError(error, context)
    expect(mapped.code).toBe('auth0_scope_missing')
    expect(mapped.message).toContain('delete:users')
  })

  it('names AUTH0_TOKEN for a refused static token, AUTH0_CLIENT_SECRET for refused client credentials', () => {
    const invalid = management(401, { statusCode: 401, error: 'Unauthorized', message: 'Invalid token' })
    expect(toAppError(invalid, { settings: tokenSettings, doing: 'x' }).message).toContain('AUTH0_TOKEN')
    const denied = new AuthApiError('access_denied', 'Unauthorized', 401, '{}', new Headers())
    const mapped = toAppError(denied, context)
    expect(mapped).toMatchObject({ code: 'auth0_credentials_refused' })
    expect(mapped.message).toContain('AUTH0_CLIENT_SECRET')
  })

  it("tells the import-slot 429 from a rate limit, and keeps Auth0's errorCode where Roster has it", () => {
    const slots = management(429, {
      statusCode: 429,
      message:
        'There are 2 active import users jobs, please wait until some of them are finished and try again',
    })
    expect(toAppError(slots, context).code).toBe('too_many_jobs')
    expect(toAppError(management(429, { message: 'Global limit has been reached' }), context).code).toBe(
      'auth0_rate_limited',
    )
    const disabled = management(400, {
      message: 'Connection must be enabled.',
      errorCode: 'connection_is_disabled',
    })
    expect(toAppError(disabled, context)).toMatchObject({
      code: 'connection_is_disabled',
      message: 'Auth0 refused testing: Connection must be enabled.',
    })
  })

  it('calls a network failure or a non-Auth0 404 unreachable, naming AUTH0_DOMAIN; a timeout unavailable', () => {
    const refused = new ManagementError({ message: 'fetch failed', cause: new Error('connect ECONNREFUSED') })
    expect(toAppError(refused, context)).toMatchObject({ code: 'auth0_unreachable' })
    expect(toAppError(refused, context).message).toContain('AUTH0_DOMAIN')
    expect(toAppError(management(404, '<html>'), context).code).toBe('auth0_unreachable')
    expect(toAppError(new ManagementTimeoutError('slow'), context).code).toBe('auth0_unavailable')
  })

  it('never repeats the secret or a bearer token, whatever the answer echoed', () => {
    const echo = management(400, { message: `bad client_secret ${secret}; Authorization: Bearer abc.def` })
    const message = toAppError(echo, context).message
    expect(message).not.toContain(secret)
    expect(message).not.toContain('abc.def')
  })
})

describe('an answer Roster cannot read', () => {
  it('names the call and the fields, never their values, as auth0_answer_invalid', () => {
    const answer = z.object({ user_id: z.string(), email: z.string() })
    const parsed = answer.safeParse({ user_id: 42, email: ['private@example.com'] })
    if (parsed.success) throw new Error('the answer should have been refused')
    const mapped = toAppError(parsed.error, { settings, doing: 'reading user auth0|1' })
    expect(mapped.code).toBe('auth0_answer_invalid')
    expect(mapped.message).toContain('reading user auth0|1')
    expect(mapped.message).toContain('user_id, email')
    expect(mapped.message).toContain('AUTH0_DOMAIN')
    expect(mapped.message).not.toContain('private@example.com')
    expect(mapped.message).not.toContain('42')
  })
})
