import type { Block, SlackMessage, StoredMessage } from './types.ts'

/** A top-level message (or a reply) with its thread, as a person scrolling the channel would see it. */
export interface ConversationMessage extends SlackMessage {
  /** Set when only this user sees the message (`chat.postEphemeral`, an ephemeral `respond()`). */
  ephemeralTo?: string
  /** The text fallback, then one line per block, file and reaction: for assertions. */
  rendered: string
  /** What Slack shows: the blocks when there are any (the text is then only the notification), files, reactions. */
  display: string
  /** The thread's replies in order; always empty on a reply. */
  replies: ConversationMessage[]
}

/** Groups a channel's stored messages into top-level messages with their threads, in posting order. */
export function conversationOf(stored: StoredMessage[]): ConversationMessage[] {
  const visible = stored.filter((m) => !m.deleted)
  const toEntry = (m: StoredMessage): ConversationMessage => ({
    ...m.message,
    ...(m.ephemeralTo ? { ephemeralTo: m.ephemeralTo } : {}),
    rendered: renderMessage(m.message),
    display: renderMessage(m.message, { blocksReplaceText: true }),
    replies: [],
  })
  const isReply = (m: StoredMessage) =>
    m.message.thread_ts !== undefined && m.message.thread_ts !== m.message.ts
  const top = visible.filter((m) => !isReply(m)).map(toEntry)
  for (const reply of visible.filter(isReply)) {
    top.find((parent) => parent.ts === reply.message.thread_ts)?.replies.push(toEntry(reply))
  }
  return top
}

export function renderMessage(
  message: SlackMessage,
  options: { blocksReplaceText?: boolean; rawDates?: boolean } = {},
): string {
  const edited = message.edited ? ' (edited)' : ''
  const showText = !(options.blocksReplaceText && (message.blocks?.length ?? 0) > 0)
  const lines = [showText ? message.text + edited : edited.trim()]
  for (const block of message.blocks ?? []) lines.push(...renderBlock(block).map((line) => `│ ${line}`))
  for (const file of message.files ?? []) lines.push(`📎 ${file.name} (${file.size} bytes, ${file.mimetype})`)
  const reactions = (message.reactions ?? []).map((r) => `:${r.name}: ${r.count}`)
  if (reactions.length > 0) lines.push(reactions.join('  '))
  // A file upload without a comment (or a message shown by its blocks) has no text: start with what it shows.
  if (lines[0] === '' && lines.length > 1) lines.shift()
  const text = lines.join('\n')
  return options.rawDates ? text : withDates(text)
}

/** `<!date^1795813286^{date_short_pretty} {time}|2026-11-27T21:01:26.603Z>` reads as its fallback text. */
function withDates(text: string): string {
  return text.replace(/<!date\^\d+\^[^|>]*\|([^>]*)>/g, '$1')
}

/**
 * The channel as text, as a person reads it in Slack: each message under its author (its blocks when it has any),
 * thread replies indented below their parent.
 */
export function transcriptOf(
  title: string,
  conversation: ConversationMessage[],
  nameOf: (userId: string) => string,
): string {
  const out = [title]
  const write = (m: ConversationMessage, lead: string, indent: string) => {
    const only = m.ephemeralTo ? ` (only visible to @${nameOf(m.ephemeralTo)})` : ''
    const shown = asSlackShows(renderMessage(m, { blocksReplaceText: true, rawDates: true }), nameOf)
    const [first = '', ...rest] = shown.split('\n')
    out.push(`${lead}@${nameOf(m.user)}${only}: ${first}`)
    for (const line of rest) out.push(`${indent}    ${line}`)
  }
  for (const message of conversation) {
    write(message, '', '')
    for (const reply of message.replies) write(reply, '    ↳ ', '      ')
  }
  return out.join('\n')
}

/**
 * Slack's markup as the app shows it: `<@U123>` as @name, `<#C123|general>` as #general, `<url|label>` as its
 * label, `<!date^…>` as a date (in UTC: a transcript has no reader's time zone), `:emoji:` as the emoji.
 */
export function asSlackShows(text: string, nameOf: (userId: string) => string): string {
  return text
    .replace(/<@([UW][A-Z0-9]+)(?:\|[^>]*)?>/g, (_, id: string) => `@${nameOf(id)}`)
    .replace(/<#[CG][A-Z0-9]+\|([^>]*)>/g, '#$1')
    .replace(/<!date\^(\d+)\^([^|>]*)(?:\^[^|>]*)?\|[^>]*>/g, (_, seconds: string, format: string) =>
      formatSlackDate(Number(seconds), format),
    )
    .replace(/<!(here|channel|everyone)>/g, '@$1')
    .replace(/<(https?:[^|>]+)\|([^>]+)>/g, '$2')
    .replace(/<(https?:[^>]+)>/g, '$1')
    .replace(/:([a-z0-9_+-]+):/g, (whole, name: string) => emoji[name] ?? whole)
}

/** The emoji Roster's messages use (and the emulator's reactions), as Slack draws them. */
const emoji: Readonly<Record<string, string>> = {
  gear: '⚙️',
  hourglass: '⌛',
  hourglass_flowing_sand: '⏳',
  inbox_tray: '📥',
  mag: '🔍',
  no_entry: '⛔',
  no_entry_sign: '🚫',
  warning: '⚠️',
  wastebasket: '🗑️',
  white_check_mark: '✅',
  x: '❌',
  eyes: '👀',
  thumbsup: '👍',
  '+1': '👍',
  tada: '🎉',
}

const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']

/** `{date_short_pretty} {time}` → `Nov 27, 2026 21:01 UTC`, the tokens Slack documents for `<!date>`. */
function formatSlackDate(seconds: number, format: string): string {
  const at = new Date(seconds * 1000)
  const pad = (n: number) => String(n).padStart(2, '0')
  const day = `${months[at.getUTCMonth()]} ${at.getUTCDate()}, ${at.getUTCFullYear()}`
  const time = `${pad(at.getUTCHours())}:${pad(at.getUTCMinutes())}`
  const text = format
    .replace(/\{date_(short_pretty|long_pretty|pretty|short|long)\}|\{date\}/g, day)
    .replace('{date_num}', `${at.getUTCFullYear()}-${pad(at.getUTCMonth() + 1)}-${pad(at.getUTCDate())}`)
    .replace('{time_secs}', `${time}:${pad(at.getUTCSeconds())}`)
    .replace('{time}', time)
  return /\{time/.test(format) ? `${text} UTC` : text
}

function renderBlock(block: Block): string[] {
  switch (block.type) {
    case 'header':
      return [`# ${textOf(block.text)}`]
    case 'divider':
      return ['———']
    case 'section': {
      const lines = block.text ? [textOf(block.text)] : []
      if (Array.isArray(block.fields)) lines.push(block.fields.map(textOf).join(' | '))
      if (isObject(block.accessory)) lines.push(renderElement(block.accessory))
      return lines.flatMap((line) => line.split('\n'))
    }
    case 'context':
      return [asArray(block.elements).map(textOf).join(' · ')]
    case 'actions':
      return [asArray(block.elements).map(renderElement).join(' ')]
    case 'input':
      return [`${textOf(block.label)}: ${isObject(block.element) ? renderElement(block.element) : '<input>'}`]
    case 'rich_text':
      return [flattenRichText(block.elements)]
    case 'image':
      return [`[image: ${String(block.alt_text ?? '')}]`]
    default:
      return [`<${block.type}>`]
  }
}

function renderElement(element: Record<string, unknown>): string {
  if (element.type === 'button') return `[${textOf(element.text)}]`
  if (element.type === 'image') return `[image: ${String(element.alt_text ?? '')}]`
  const placeholder = element.placeholder ? `: ${textOf(element.placeholder)}` : ''
  return `<${String(element.type)}${placeholder}>`
}

/** The text of a text object (`{ type: 'mrkdwn' | 'plain_text', text }`), an image element, or a string. */
function textOf(value: unknown): string {
  if (typeof value === 'string') return value
  if (!isObject(value)) return ''
  if (typeof value.text === 'string') return value.text
  if (value.type === 'image') return `[image: ${String(value.alt_text ?? '')}]`
  return ''
}

function flattenRichText(elements: unknown): string {
  return asArray(elements)
    .map((e) =>
      typeof e.text === 'string' ? e.text : Array.isArray(e.elements) ? flattenRichText(e.elements) : '',
    )
    .join('')
}

function asArray(value: unknown): Record<string, unknown>[] {
  return Array.isArray(value) ? value.filter(isObject) : []
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
