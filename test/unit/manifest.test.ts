import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { botEvents, botScopes, slashCommands } from '../../src/adapters/slack/listeners/index.ts'

const manifest = parse(readFileSync(new URL('../../manifest.yml', import.meta.url), 'utf8'))

describe('manifest.yml stays in step with the code', () => {
  it('declares exactly the slash commands the app registers, each with a description and usage hint', () => {
    const commands = manifest.features.slash_commands as {
      command: string
      description: string
      usage_hint: string
      url: string
    }[]
    expect(commands.map((c) => c.command).sort()).toEqual([...slashCommands].sort())
    for (const command of commands) {
      expect(command.description.length).toBeGreaterThan(10)
      expect(command.usage_hint.length).toBeGreaterThan(3)
      expect(command.url).toBe('https://YOUR_HOST/slack/events')
    }
  })

  it('subscribes to exactly the events the app handles', () => {
    expect([...manifest.settings.event_subscriptions.bot_events].sort()).toEqual([...botEvents].sort())
  })

  it('asks for exactly the scopes the app uses', () => {
    expect([...manifest.oauth_config.scopes.bot].sort()).toEqual([...botScopes].sort())
  })

  it('points events and interactivity at the one request URL', () => {
    expect(manifest.settings.event_subscriptions.request_url).toBe('https://YOUR_HOST/slack/events')
    expect(manifest.settings.interactivity).toEqual({
      is_enabled: true,
      request_url: 'https://YOUR_HOST/slack/events',
    })
  })
})
