import { describe, expect, it } from 'vitest'
import { conversationOf, transcriptOf } from '../support/slack/render.ts'
import type { SlackMessage } from '../support/slack/types.ts'

/** The demo's transcript (`npm run demo`) reads as Slack shows a channel, not as the markup Roster sends. */

const names: Record<string, string> = { U0ADA: 'ada', UBOT: 'roster' }
const nameOf = (id: string) => names[id] ?? id

function message(ts: string, text: string, extra: Partial<SlackMessage> = {}): SlackMessage {
  return { type: 'message', ts, user: 'UBOT', text, team: 'T1', ...extra }
}

function transcript(...messages: SlackMessage[]): string {
  return transcriptOf(
    '#general (C1)',
    conversationOf(messages.map((m) => ({ channel: 'C1', message: m }))),
    nameOf,
  )
}

describe('the transcript', () => {
  it('shows mentions as names and Roster’s emoji as emoji', () => {
    expect(transcript(message('1.1', ':white_check_mark: Import confirmed by <@U0ADA>.'))).toBe(
      '#general (C1)\n@roster: ✅ Import confirmed by @ada.',
    )
  })

  it('formats <!date> as Slack does, from its tokens (in UTC)', () => {
    const when = Date.UTC(2026, 10, 27, 21, 1, 26) / 1000
    const text = `created <!date^${when}^{date_short_pretty} {time}|2026-11-27T21:01:26.603Z>`
    expect(transcript(message('1.1', text))).toContain('created Nov 27, 2026 21:01 UTC')
  })

  it('shows blocks the same way, and links by their label', () => {
    const blocks = [
      {
        type: 'section',
        text: { type: 'mrkdwn', text: ':warning: <https://x.test/r|the report> for <@U0ADA>' },
      },
    ]
    expect(transcript(message('1.1', 'fallback', { blocks }))).toBe(
      '#general (C1)\n@roster: │ ⚠️ the report for @ada',
    )
  })

  it('leaves an emoji it does not know as its name', () => {
    expect(transcript(message('1.1', ':custom_thing: hi'))).toContain(':custom_thing: hi')
  })
})
