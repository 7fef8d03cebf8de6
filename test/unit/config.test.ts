import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { envSchema, loadConfig } from '../../src/config.ts'

const envExample = readFileSync(new URL('../../.env.example', import.meta.url), 'utf8')
const exampleVars = Object.fromEntries(
  envExample
    .split('\n')
    .filter((line) => /^[A-Z_]+=/.test(line))
    .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
)

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
})
