import type { KnownBlock } from '@slack/types'
import { clipMrkdwn, slackLimits } from './slack-text.ts'

// One formatter, made once: `toLocaleString('en-US')` builds one per call (~10× slower, and garbage), and `/jobs`
// formats a few numbers per job on every command.
const numberFormat = new Intl.NumberFormat('en-US')

/** 12,345. */
export const formatCount = (value: number): string => numberFormat.format(value)

/** "1 user", "12,345 users". */
export const usersCount = (count: number): string => `${formatCount(count)} user${count === 1 ? '' : 's'}`

/** A mrkdwn section, clipped to Slack's 3,000 characters (the text is Roster's, its data already escaped). */
export const section = (text: string): KnownBlock => ({
  type: 'section',
  text: { type: 'mrkdwn', text: clipMrkdwn(text, slackLimits.sectionText) },
})

/** A one-element mrkdwn context line, clipped to Slack's limit. */
export const context = (text: string): KnownBlock => ({
  type: 'context',
  elements: [{ type: 'mrkdwn', text: clipMrkdwn(text, slackLimits.contextText) }],
})
