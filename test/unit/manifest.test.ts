import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { botEvents, botScopes, slashCommands } from '../../src/adapters/slack/listeners/index.ts'
import { envSchema } from '../../src/config.ts'
import { jobFilters } from '../../src/domain/jobs/job-page.ts'

const manifestText = readFileSync(new URL('../../manifest.yml', import.meta.url), 'utf8')
const manifest = parse(manifestText)
const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8')
/** README's `## Slack` section, up to the next top-level section. */
const readmeSlack = readme.slice(
  readme.indexOf('\n## Slack\n'),
  readme.indexOf('\n## ', readme.indexOf('\n## Slack\n') + 1),
)

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

  it("names /jobs's filters in its usage hint and the README, without angle brackets Slack would parse", () => {
    const jobs = manifest.features.slash_commands.find((c: { command: string }) => c.command === '/jobs')
    for (const filter of jobFilters) {
      expect(jobs.usage_hint).toContain(filter)
      expect(readmeSlack).toContain(`\`${filter}\``)
    }
    for (const command of manifest.features.slash_commands) expect(command.usage_hint).not.toMatch(/[<>]/)
  })

  it('subscribes to exactly the events the app handles', () => {
    expect([...manifest.settings.event_subscriptions.bot_events].sort()).toEqual([...botEvents].sort())
  })

  it('asks for exactly the scopes the app uses', () => {
    expect([...manifest.oauth_config.scopes.bot].sort()).toEqual([...botScopes].sort())
  })

  it('enables the Messages tab, read-only: Roster writes to people directly but never reads their DMs', () => {
    // Direct messages are Roster's fallback when it cannot post in a channel (reply.ts tellUser, the notifier's
    // DM threads); without the Messages tab people cannot see them. No `message.im` event: nothing reads DMs.
    expect(manifest.features.app_home).toMatchObject({
      messages_tab_enabled: true,
      messages_tab_read_only_enabled: true,
    })
    expect(botEvents as readonly string[]).not.toContain('message.im')
  })

  it('ships HTTP mode and documents the switch to Socket Mode, here and in the README', () => {
    expect(manifest.settings.socket_mode_enabled).toBe(false)
    expect('SLACK_APP_TOKEN' in envSchema.shape).toBe(true)
    const header = manifestText.slice(0, manifestText.indexOf('_metadata:'))
    expect(readmeSlack.length).toBeGreaterThan(100)
    for (const doc of [header, readmeSlack]) {
      expect(doc).toContain('socket_mode_enabled')
      expect(doc).toContain('connections:write')
      expect(doc).toContain('SLACK_APP_TOKEN')
    }
  })

  it('points events, interactivity and the options of searched pickers at the one request URL', () => {
    // The connection pickers become external_select beyond 100 connections: Slack asks the options load URL.
    expect(manifest.settings.event_subscriptions.request_url).toBe('https://YOUR_HOST/slack/events')
    expect(manifest.settings.interactivity).toEqual({
      is_enabled: true,
      request_url: 'https://YOUR_HOST/slack/events',
      message_menu_options_url: 'https://YOUR_HOST/slack/events',
    })
  })
})
