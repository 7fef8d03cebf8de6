import { LogLevel } from '@slack/bolt'
import { WebClient, type WebClientOptions } from '@slack/web-api'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { type SlackEmulator, startSlackEmulator } from '../support/slack/emulator.ts'
import { type SlackRuleId, slackRules } from '../support/slack/limits.ts'

/** The strict emulator refuses what Slack refuses, answers as Slack does, and records each broken rule. */

let emulator: SlackEmulator

beforeEach(async () => {
  emulator = await startSlackEmulator()
})
afterEach(async () => {
  await emulator.close()
})

const webClient = (options: WebClientOptions = {}) =>
  new WebClient(emulator.botToken, {
    slackApiUrl: emulator.apiUrl,
    retryConfig: { retries: 0 },
    logLevel: LogLevel.ERROR,
    ...options,
  })

const channel = 'C0GENERAL'
const plain = (text: string) => ({ type: 'plain_text', text })
const mrkdwn = (text: string) => ({ type: 'mrkdwn', text })
const over = (rule: SlackRuleId) => 'x'.repeat(slackRules[rule].max + 1)
const button = (fields: Record<string, unknown> = {}) => ({
  type: 'button',
  text: plain('Go'),
  action_id: 'go',
  ...fields,
})
const option = (fields: Record<string, unknown> = {}) => ({ text: plain('One'), value: 'one', ...fields })
const select = (fields: Record<string, unknown>) => ({ type: 'static_select', action_id: 'pick', ...fields })
const section = (fields: Record<string, unknown>) => ({ type: 'section', text: mrkdwn('hi'), ...fields })
const inputBlock = (fields: Record<string, unknown> = {}) => ({
  type: 'input',
  label: plain('Name'),
  element: { type: 'plain_text_input', action_id: 'name' },
  ...fields,
})
const confirm = (fields: Record<string, unknown>) =>
  section({
    accessory: button({
      confirm: {
        title: plain('Sure?'),
        text: plain('Really.'),
        confirm: plain('Yes'),
        deny: plain('No'),
        ...fields,
      },
    }),
  })
const modal = (fields: Record<string, unknown> = {}) => ({
  type: 'modal',
  title: plain('Import'),
  submit: plain('Go'),
  blocks: [inputBlock()],
  ...fields,
})

/** Each rule, and the smallest message blocks that break it. */
const messageCases: [SlackRuleId, unknown[]][] = [
  ['messageBlocks', Array.from({ length: 51 }, () => ({ type: 'divider' }))],
  ['sectionText', [section({ text: mrkdwn(over('sectionText')) })]],
  ['sectionFields', [section({ fields: Array.from({ length: 11 }, () => mrkdwn('f')) })]],
  ['sectionField', [section({ fields: [mrkdwn(over('sectionField'))] })]],
  ['headerText', [{ type: 'header', text: plain(over('headerText')) }]],
  ['plainText', [{ type: 'header', text: mrkdwn('*bold*') }]],
  ['contextElements', [{ type: 'context', elements: Array.from({ length: 11 }, () => mrkdwn('c')) }]],
  [
    'actionsElements',
    [{ type: 'actions', elements: Array.from({ length: 26 }, (_, i) => button({ action_id: `b${i}` })) }],
  ],
  ['buttonText', [{ type: 'actions', elements: [button({ text: plain(over('buttonText')) })] }]],
  ['buttonValue', [{ type: 'actions', elements: [button({ value: over('buttonValue') })] }]],
  ['actionId', [{ type: 'actions', elements: [button({ action_id: over('actionId') })] }]],
  ['buttonUrl', [{ type: 'actions', elements: [button({ url: `https://x.example/${over('buttonUrl')}` })] }]],
  ['blockId', [{ type: 'divider', block_id: over('blockId') }]],
  [
    'blockId',
    [
      { type: 'divider', block_id: 'same' },
      { type: 'divider', block_id: 'same' },
    ],
  ],
  [
    'optionText',
    [section({ accessory: select({ options: [option({ text: plain(over('optionText')) })] }) })],
  ],
  ['optionValue', [section({ accessory: select({ options: [option({ value: over('optionValue') })] }) })]],
  [
    'selectOptions',
    [section({ accessory: select({ options: Array.from({ length: 101 }, () => option()) }) })],
  ],
  [
    'selectOptionGroups',
    [
      section({
        accessory: select({
          option_groups: Array.from({ length: 101 }, () => ({ label: plain('G'), options: [option()] })),
        }),
      }),
    ],
  ],
  ['plainText', [section({ accessory: select({ options: [option({ text: mrkdwn('*one*') })] }) })]],
  ['confirmTitle', [confirm({ title: plain(over('confirmTitle')) })]],
  ['confirmText', [confirm({ text: plain(over('confirmText')) })]],
  ['confirmConfirm', [confirm({ confirm: plain(over('confirmConfirm')) })]],
  ['confirmDeny', [confirm({ deny: plain(over('confirmDeny')) })]],
  ['utf16', [section({ text: mrkdwn('half an emoji: \ud83d') })]],
]

/** Each rule, and the smallest view that breaks it. */
const viewCases: [SlackRuleId, Record<string, unknown>][] = [
  ['viewBlocks', modal({ blocks: Array.from({ length: 101 }, () => ({ type: 'divider' })) })],
  ['viewTitle', modal({ title: plain(over('viewTitle')) })],
  ['viewSubmit', modal({ submit: plain(over('viewSubmit')) })],
  ['viewClose', modal({ close: plain(over('viewClose')) })],
  ['viewPrivateMetadata', modal({ private_metadata: over('viewPrivateMetadata') })],
  ['viewCallbackId', modal({ callback_id: over('viewCallbackId') })],
  ['inputLabel', modal({ blocks: [inputBlock({ label: plain(over('inputLabel')) })] })],
  ['inputHint', modal({ blocks: [inputBlock({ hint: plain(over('inputHint')) })] })],
  [
    'placeholder',
    modal({
      blocks: [
        inputBlock({ element: { type: 'plain_text_input', placeholder: plain(over('placeholder')) } }),
      ],
    }),
  ],
  [
    'optionDescription',
    modal({
      blocks: [
        inputBlock({
          element: {
            type: 'checkboxes',
            options: [option({ description: plain(over('optionDescription')) })],
          },
        }),
      ],
    }),
  ],
  ['fileInputMaxFiles', modal({ blocks: [inputBlock({ element: { type: 'file_input', max_files: 11 } })] })],
  ['plainText', modal({ title: mrkdwn('Import') })],
  ['utf16', modal({ private_metadata: '{"name":"\udc00"}' })],
]

describe('the table', () => {
  it("holds Slack's published numbers, each with its documentation page", () => {
    const max = Object.fromEntries(Object.entries(slackRules).map(([id, rule]) => [id, rule.max]))
    expect(max).toMatchObject({
      messageBlocks: 50,
      viewBlocks: 100,
      messageText: 40_000,
      sectionText: 3000,
      sectionFields: 10,
      sectionField: 2000,
      headerText: 150,
      contextElements: 10,
      actionsElements: 25,
      buttonText: 75,
      buttonValue: 2000,
      actionId: 255,
      buttonUrl: 3000,
      blockId: 255,
      optionText: 75,
      optionValue: 150,
      optionDescription: 75,
      selectOptions: 100,
      selectOptionGroups: 100,
      confirmTitle: 100,
      confirmText: 300,
      confirmConfirm: 30,
      confirmDeny: 30,
      viewTitle: 24,
      viewSubmit: 24,
      viewClose: 24,
      viewPrivateMetadata: 3000,
      viewCallbackId: 255,
      inputLabel: 2000,
      inputHint: 2000,
      placeholder: 150,
      fileInputMaxFiles: 10,
      responseUrlUses: 5,
      responseUrlTtlMs: 1_800_000,
      triggerTtlMs: 3000,
    })
    for (const rule of Object.values(slackRules)) expect(rule.source).toMatch(/^https:\/\/docs\.slack\.dev\//)
  })
})

describe('messages', () => {
  it.each(messageCases)('refuses %s with invalid_blocks and records it', async (rule, blocks) => {
    const refusal = await webClient()
      .chat.postMessage({ channel, text: 'fallback', blocks: blocks as never })
      .catch((error: { data: unknown }) => error.data)
    expect(refusal).toMatchObject({
      ok: false,
      error: 'invalid_blocks',
      response_metadata: { messages: [expect.stringMatching(/^\[ERROR\] .* \[json-pointer:\/blocks/)] },
    })
    expect(emulator.takeViolations().map((v) => [v.method, v.rule])).toContainEqual([
      'chat.postMessage',
      rule,
    ])
    expect(emulator.conversation(channel)).toEqual([])
  })

  it('accepts every limit exactly, counting an emoji as one character', async () => {
    const emoji = '🙂'.repeat(slackRules.headerText.max)
    await webClient().chat.postMessage({
      channel,
      text: 'x'.repeat(slackRules.messageText.max),
      blocks: [
        { type: 'header', text: { type: 'plain_text', text: emoji } },
        { type: 'section', text: { type: 'mrkdwn', text: 'x'.repeat(slackRules.sectionText.max) } },
        ...Array.from({ length: slackRules.messageBlocks.max - 2 }, () => ({ type: 'divider' as const })),
      ],
    })
    expect(emulator.violations).toEqual([])
  })

  it('refuses message text over 40,000 characters with msg_too_long', async () => {
    await expect(webClient().chat.postMessage({ channel, text: over('messageText') })).rejects.toMatchObject({
      data: { error: 'msg_too_long' },
    })
    expect(emulator.takeViolations()).toMatchObject([{ method: 'chat.postMessage', rule: 'messageText' }])
  })

  it('refuses chat.update without ts and chat.postEphemeral without user, naming the field', async () => {
    const slack = webClient()
    await expect(slack.apiCall('chat.update', { channel, text: 'x' })).rejects.toMatchObject({
      data: { error: 'invalid_arguments', response_metadata: { messages: [expect.stringContaining('ts')] } },
    })
    await expect(slack.apiCall('chat.postEphemeral', { channel, text: 'x' })).rejects.toMatchObject({
      data: {
        error: 'invalid_arguments',
        response_metadata: { messages: [expect.stringContaining('user')] },
      },
    })
    expect(emulator.takeViolations().map((v) => v.rule)).toEqual(['chatUpdateArgs', 'postEphemeralArgs'])
  })

  it('refuses a command ack Slack would refuse, showing nothing', async () => {
    const { commandRequest } = await import('../support/slack/interactions.ts')
    const prepared = commandRequest(emulator, '/jobs')
    prepared.showAck({ text: 'x', blocks: [{ type: 'header', text: plain(over('headerText')) }] })
    expect(emulator.takeViolations()).toMatchObject([{ method: 'command_ack', rule: 'headerText' }])
    expect(emulator.conversation(channel)).toEqual([])
  })
})

describe('views', () => {
  it.each(viewCases)('refuses %s with invalid_arguments and records it', async (rule, view) => {
    const triggerId = emulator.workspace.issueTrigger('U0TESTER')
    const refusal = await webClient()
      .views.open({ trigger_id: triggerId, view: view as never })
      .catch((error: { data: unknown }) => error.data)
    expect(refusal).toMatchObject({
      ok: false,
      error: 'invalid_arguments',
      response_metadata: { messages: [expect.stringMatching(/^\[ERROR\] .* \[json-pointer:\/view/)] },
    })
    expect(emulator.takeViolations().map((v) => [v.method, v.rule])).toContainEqual(['views.open', rule])
    expect(emulator.latestView()).toBeUndefined()
  })

  it('refuses a trigger used more than 3 seconds after its interaction', async () => {
    const triggerId = emulator.workspace.issueTrigger('U0TESTER')
    const now = Date.now()
    vi.spyOn(Date, 'now').mockReturnValue(now + slackRules.triggerTtlMs.max + 1)
    try {
      await expect(
        webClient().views.open({ trigger_id: triggerId, view: modal() as never }),
      ).rejects.toMatchObject({
        data: { error: 'expired_trigger_id' },
      })
    } finally {
      vi.restoreAllMocks()
    }
    expect(emulator.takeViolations()).toMatchObject([{ method: 'views.open', rule: 'triggerTtlMs' }])
  })
})

describe('response_url', () => {
  const post = (url: string, body: unknown) =>
    fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    })

  it('takes 5 posts, and refuses the sixth with used_url', async () => {
    const url = emulator.workspace.issueResponseUrl({ channel, user: 'U0TESTER' })
    for (let i = 1; i <= slackRules.responseUrlUses.max; i++)
      expect((await post(url, { text: `${i}` })).status).toBe(200)
    const sixth = await post(url, { text: '6' })
    expect([sixth.status, await sixth.text()]).toEqual([404, 'used_url'])
    expect(emulator.takeViolations()).toMatchObject([{ method: 'response_url', rule: 'responseUrlUses' }])
  })

  it('refuses a post after 30 minutes with expired_url', async () => {
    const url = emulator.workspace.issueResponseUrl({ channel, user: 'U0TESTER' })
    const now = Date.now()
    vi.spyOn(Date, 'now').mockReturnValue(now + slackRules.responseUrlTtlMs.max + 1)
    try {
      const late = await post(url, { text: 'late' })
      expect([late.status, await late.text()]).toEqual([404, 'expired_url'])
    } finally {
      vi.restoreAllMocks()
    }
    expect(emulator.takeViolations()).toMatchObject([{ method: 'response_url', rule: 'responseUrlTtlMs' }])
  })

  it('refuses blocks Slack would refuse with 400 invalid_blocks', async () => {
    const url = emulator.workspace.issueResponseUrl({ channel, user: 'U0TESTER' })
    const refused = await post(url, { text: 'x', blocks: [section({ text: mrkdwn(over('sectionText')) })] })
    expect([refused.status, await refused.text()]).toEqual([400, 'invalid_blocks'])
    expect(emulator.takeViolations()).toMatchObject([{ method: 'response_url', rule: 'sectionText' }])
  })
})

describe('rate limits', () => {
  it('refuses a call made before Retry-After passed, again with 429, as a violation', async () => {
    emulator.failNext('chat.postMessage', { kind: 'ratelimited', retryAfterS: 30 })
    const slack = webClient({ rejectRateLimitedCalls: true })
    await expect(slack.chat.postMessage({ channel, text: 'first' })).rejects.toMatchObject({ retryAfter: 30 })
    expect(emulator.violations).toEqual([])
    await expect(slack.chat.postMessage({ channel, text: 'too soon' })).rejects.toMatchObject({
      retryAfter: expect.any(Number),
    })
    expect(emulator.takeViolations()).toMatchObject([{ method: 'chat.postMessage', rule: 'retryAfter' }])
    // Other methods, and chat.postMessage in another channel (Slack limits it per channel), may go on.
    await slack.auth.test()
    emulator.addChannel('C0OTHER', 'other')
    await slack.chat.postMessage({ channel: 'C0OTHER', text: 'elsewhere' })
    expect(emulator.violations).toEqual([])
  })
})

describe('file downloads', () => {
  it('redirects url_private_download to the CDN on another origin, which serves without the token', async () => {
    const file = emulator.addFile({ name: 'users.json', content: '[]', channel })
    const first = await fetch(file.url_private_download, {
      headers: { authorization: `Bearer ${emulator.botToken}` },
      redirect: 'manual',
    })
    expect(first.status).toBe(302)
    const location = new URL(first.headers.get('location') as string)
    expect(location.origin).toBe(emulator.cdnUrl)
    expect(location.origin).not.toBe(new URL(emulator.apiUrl).origin)
    const bytes = await fetch(location)
    expect([bytes.status, await bytes.text()]).toEqual([200, '[]'])
    expect(emulator.violations).toEqual([])
  })

  it('refuses the bot token at the CDN and records it', async () => {
    const file = emulator.addFile({ name: 'users.json', content: '[]', channel })
    const auth = { authorization: `Bearer ${emulator.botToken}` }
    const first = await fetch(file.url_private_download, { headers: auth, redirect: 'manual' })
    const leaked = await fetch(first.headers.get('location') as string, { headers: auth })
    expect(leaked.status).toBe(400)
    expect(emulator.takeViolations()).toMatchObject([{ method: 'file_cdn', rule: 'fileCdnNoToken' }])
  })
})

describe('close', () => {
  it('rejects, listing each broken rule, when violations were not taken', async () => {
    const other = await startSlackEmulator()
    const triggerId = other.workspace.issueTrigger('U0TESTER')
    const slack = new WebClient(other.botToken, { slackApiUrl: other.apiUrl, retryConfig: { retries: 0 } })
    await slack.views
      .open({ trigger_id: triggerId, view: modal({ title: plain(over('viewTitle')) }) as never })
      .catch(() => undefined)
    await expect(other.close()).rejects.toThrow(
      /views\.open: viewTitle: \[ERROR\] must be less than 25 characters/,
    )
  })
})
