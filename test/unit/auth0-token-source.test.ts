import { describe, expect, it } from 'vitest'
import {
  cachedTokenSource,
  parseScopeString,
  type TokenGrant,
} from '../../src/adapters/auth0/token-source.ts'

/** The client-credentials token cache: one grant per lifetime, renewed before expiry, failures not kept. */
function grants(lifetimeSeconds = 3600) {
  const calls: number[] = []
  let fail = false
  const grant = async (): Promise<TokenGrant> => {
    calls.push(calls.length)
    if (fail) throw new Error('refused')
    return { accessToken: `t${calls.length}`, expiresInSeconds: lifetimeSeconds, scopes: ['read:users'] }
  }
  const failNext = (value: boolean) => {
    fail = value
  }
  return { calls, grant, failNext }
}

describe('cachedTokenSource', () => {
  it('asks once for concurrent callers and reuses the token until renewal is due', async () => {
    let now = 0
    const g = grants()
    const tokens = cachedTokenSource(g.grant, { nowMs: () => now })
    expect(await Promise.all([tokens.accessToken(), tokens.accessToken(), tokens.grantedScopes()])).toEqual([
      't1',
      't1',
      ['read:users'],
    ])
    now = 3600_000 - 60_001
    expect(await tokens.accessToken()).toBe('t1')
    expect(g.calls).toHaveLength(1)
  })

  it('renews the token renewBeforeMs before it expires', async () => {
    let now = 0
    const g = grants()
    const tokens = cachedTokenSource(g.grant, { nowMs: () => now, renewBeforeMs: 60_000 })
    await tokens.accessToken()
    now = 3600_000 - 60_000
    expect(await tokens.accessToken()).toBe('t2')
  })

  it('renews a short-lived token at half its lifetime', async () => {
    let now = 0
    const g = grants(10)
    const tokens = cachedTokenSource(g.grant, { nowMs: () => now })
    await tokens.accessToken()
    now = 4_999
    expect(await tokens.accessToken()).toBe('t1')
    now = 5_000
    expect(await tokens.accessToken()).toBe('t2')
  })

  it('does not keep a failed request: the next call asks again', async () => {
    const g = grants()
    const tokens = cachedTokenSource(g.grant)
    g.failNext(true)
    await expect(tokens.accessToken()).rejects.toThrow('refused')
    g.failNext(false)
    expect(await tokens.accessToken()).toBe('t2')
  })
})

describe('parseScopeString', () => {
  it('splits a space-separated scope and leaves a missing one unknown', () => {
    expect(parseScopeString('read:users  create:users')).toEqual(['read:users', 'create:users'])
    expect(parseScopeString(undefined)).toBeUndefined()
  })
})
