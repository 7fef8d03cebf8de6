import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseEnv } from 'node:util'
import { describe, expect, it } from 'vitest'
import { envSchema, loadConfig, readEnvironment } from '../../src/config.ts'

const envExamplePath = fileURLToPath(new URL('../../.env.example', import.meta.url))
const envExample = readFileSync(envExamplePath, 'utf8')
/** As Roster reads a copy of it at start (the parser behind `node --env-file`). */
const exampleVars = parseEnv(envExample)

describe('loadConfig', () => {
  it('runs with no settings at all, on Auth0 defaults', () => {
    const config = loadConfig({})
    expect(config).toMatchObject({
      port: 3000,
      storeDir: './store',
      limits: { importMaxBytes: 512000, maxActiveImports: 2, retentionHours: 24 },
      slack: { botToken: undefined, signingSecret: undefined },
      mail: { smtpUrl: undefined },
    })
  })

  it('names each bad variable, the value given and what it expects', () => {
    expect(() => loadConfig({ PORT: 'eighty', MAX_ACTIVE_IMPORTS: '0', RETENTION_CRON: 'often' })).toThrow(
      [
        'Invalid configuration:',
        '  PORT="eighty": expected a TCP port number from 0 to 65535',
        '  MAX_ACTIVE_IMPORTS="0": expected a whole number from 1 to 64',
        '  RETENTION_CRON="often": expected a cron expression such as "*/15 * * * *"',
      ].join('\n'),
    )
  })

  it('splits TENANT_OWNERS and checks each address', () => {
    expect(loadConfig({ TENANT_OWNERS: 'a@example.com, b@example.com' }).tenant.owners).toEqual([
      'a@example.com',
      'b@example.com',
    ])
    expect(() => loadConfig({ TENANT_OWNERS: 'a@example.com,nope' })).toThrow(/TENANT_OWNERS/)
  })

  it('takes a postgres:// or postgresql:// DATABASE_URL naming a database; unset or empty: the embedded store', () => {
    expect(loadConfig({}).databaseUrl).toBeUndefined()
    expect(loadConfig({ DATABASE_URL: ' ' }).databaseUrl).toBeUndefined()
    expect(loadConfig({ DATABASE_URL: 'postgres://roster:pw@db:5432/roster' }).databaseUrl).toBe(
      'postgres://roster:pw@db:5432/roster',
    )
    expect(loadConfig({ DATABASE_URL: 'postgresql:///roster?host=/run/postgresql' }).databaseUrl).toBe(
      'postgresql:///roster?host=/run/postgresql',
    )
    expect(() => loadConfig({ DATABASE_URL: 'postgres://db:5432' })).toThrow(
      /DATABASE_URL=.*naming the database/,
    )
  })

  it('quotes a refused DATABASE_URL or SMTP_URL without its password', () => {
    for (const [key, value, shown] of [
      ['DATABASE_URL', 'mysql://roster:s3cr@t@db/roster', 'mysql://roster:***@db/roster'],
      ['SMTP_URL', 'smtp//mail:s3cret@host', 'smtp//mail:***@host'],
    ] as const) {
      const error = (() => {
        try {
          loadConfig({ [key]: value })
        } catch (thrown) {
          return thrown as Error
        }
        throw new Error(`${key}=${value} was accepted`)
      })()
      expect(error.message).toContain(`${key}="${shown}"`)
      expect(error.message).not.toContain('s3cr')
    }
  })

  it('treats empty optional settings as unset', () => {
    expect(loadConfig({ SLACK_BOT_TOKEN: '', SMTP_URL: ' ' }).slack.botToken).toBeUndefined()
  })
})

describe('.env.example', () => {
  it('lists exactly the variables the config schema reads', () => {
    expect(Object.keys(exampleVars).sort()).toEqual(Object.keys(envSchema.shape).sort())
  })

  it('holds values the config accepts', () => {
    expect(() => loadConfig(exampleVars)).not.toThrow()
  })

  it('can be sourced by a shell, to the same values', () => {
    const keys = Object.keys(exampleVars)
    const script = `set -a; . "$1"; for k in ${keys.join(' ')}; do printf '%s=%s\\0' "$k" "$(printenv "$k")"; done`
    const out = execFileSync('sh', ['-c', script, 'sh', envExamplePath], { encoding: 'utf8', env: {} })
    const sourced = Object.fromEntries(
      out
        .split('\0')
        .filter(Boolean)
        .map((entry) => [entry.slice(0, entry.indexOf('=')), entry.slice(entry.indexOf('=') + 1)]),
    )
    expect(sourced).toEqual(exampleVars)
  })
})

describe('readEnvironment', () => {
  it('reads .env from the working directory; the real environment wins', () => {
    const dir = mkdtempSync(join(tmpdir(), 'roster-env-'))
    try {
      writeFileSync(join(dir, '.env'), 'PORT=4100\nTENANT_NAME=acme\nMAIL_FROM="Acme <ops@acme.test>"\n')
      const { env, file } = readEnvironment(dir, { TENANT_NAME: 'from-shell' })
      expect(file).toBe(join(dir, '.env'))
      expect(loadConfig(env)).toMatchObject({
        port: 4100,
        tenant: { name: 'from-shell' },
        mail: { from: 'Acme <ops@acme.test>' },
      })
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('runs without a .env file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'roster-env-'))
    try {
      expect(readEnvironment(dir, { PORT: '1' })).toEqual({ env: { PORT: '1' } })
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('the Auth0 settings', () => {
  it('are off without AUTH0_DOMAIN, and parsed with their default base URL when it is set', () => {
    expect(loadConfig({}).auth0).toBeUndefined()
    expect(loadConfig({ AUTH0_DOMAIN: '', AUTH0_TOKEN: ' ' }).auth0).toBeUndefined()
    expect(
      loadConfig({ AUTH0_DOMAIN: 'acme.eu.auth0.com', AUTH0_CLIENT_ID: 'id', AUTH0_CLIENT_SECRET: 's3cret' })
        .auth0,
    ).toEqual({
      domain: 'acme.eu.auth0.com',
      baseUrl: 'https://acme.eu.auth0.com',
      baseUrlIsDefault: true,
      credentials: { kind: 'client', clientId: 'id', clientSecret: 's3cret' },
    })
  })

  it('refuses companions without AUTH0_DOMAIN, naming it', () => {
    expect(() => loadConfig({ AUTH0_CLIENT_ID: 'id', AUTH0_CLIENT_SECRET: 's3cret' })).toThrow(
      /AUTH0_DOMAIN is not set, but AUTH0_CLIENT_ID, AUTH0_CLIENT_SECRET are/,
    )
  })

  it('names the setting that is wrong and never echoes a secret', () => {
    const attempt = () =>
      loadConfig({
        AUTH0_DOMAIN: 'https://acme.eu.auth0.com/',
        AUTH0_TOKEN: 'tok-secret',
        AUTH0_CLIENT_ID: 'id',
      })
    expect(attempt).toThrow(
      /AUTH0_DOMAIN="https:\/\/acme.eu.auth0.com\/": AUTH0_DOMAIN must be the tenant host/,
    )
    expect(attempt).toThrow(/AUTH0_TOKEN: Set either AUTH0_TOKEN or AUTH0_CLIENT_ID/)
    expect(attempt).not.toThrow(/tok-secret/)
    expect(() => loadConfig({ AUTH0_DOMAIN: 'acme.eu.auth0.com', AUTH0_CLIENT_ID: 'id' })).toThrow(
      /AUTH0_CLIENT_SECRET: AUTH0_CLIENT_ID is set without AUTH0_CLIENT_SECRET/,
    )
  })
})
