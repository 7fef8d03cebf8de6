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

export function renderMessage(message: SlackMessage, options: { blocksReplaceText?: boolean } = {}): string {
  const edited = message.edited ? ' (edited)' : ''
  const showText = !(options.blocksReplaceText && (message.blocks?.length ?? 0) > 0)
  const lines = [showText ? message.text + edited : edited.trim()]
  for (const block of message.blocks ?? []) lines.push(...renderBlock(block).map((line) => `│ ${line}`))
  for (const file of message.files ?? []) lines.push(`📎 ${file.name} (${file.size} bytes, ${file.mimetype})`)
  const reactions = (message.reactions ?? []).map((r) => `:${r.name}: ${r.count}`)
  if (reactions.length > 0) lines.push(reactions.join('  '))
  // A file upload without a comment (or a message shown by its blocks) has no text: start with what it shows.
  if (lines[0] === '' && lines.length > 1) lines.shift()
  return withDates(lines.join('\n'))
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
    const [first = '', ...rest] = m.display.split('\n')
    out.push(`${lead}@${nameOf(m.user)}${only}: ${first}`)
    for (const line of rest) out.push(`${indent}    ${line}`)
  }
  for (const message of conversation) {
    write(message, '', '')
    for (const reply of message.replies) write(reply, '    ↳ ', '      ')
  }
  return out.join('\n')
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
