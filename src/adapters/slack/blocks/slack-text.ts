/**
 * The one place Roster turns data it did not write (file names, user rows, connection names, a job's external_id
 * and status_details, API client names, error messages that quote them) into text for Slack.
 *
 * - Slack reads `&`, `<` and `>` as control characters in mrkdwn and in a message's top-level `text` (the
 *   notification fallback): `<!channel>` pings a channel, `<https://x|y>` is a disguised link, `<@U…>` a mention.
 *   They are escaped as `&amp;`, `&lt;`, `&gt;`, which Slack shows as the characters themselves
 *   (https://docs.slack.dev/messaging/formatting-message-text#escaping).
 * - A backtick in data would close Roster's code span around it: it becomes `ˋ` (U+02CB MODIFIER LETTER GRAVE
 *   ACCENT), which looks the same and is not markup.
 * - Every field has a length limit (the table below); text is clipped to it by grapheme (Intl.Segmenter), never by
 *   UTF-16 code unit — so never half an emoji, a lone surrogate Slack refuses — and never inside an entity
 *   (`&am`), counting the escaped length, with "…" at the end.
 *
 * Roster's own markup (its mentions `<@U…>`, dates `<!date^…>`, emoji, bold) is written around the escaped pieces
 * and stays live; `clipMrkdwn` clips such composed text without cutting through any `<…>` or entity.
 */

/** Slack's limits for the fields Roster fills (characters; counted here as UTF-16 code units, the stricter). */
export const slackLimits = {
  /** Section `text` (https://docs.slack.dev/reference/block-kit/blocks/section-block). */
  sectionText: 3000,
  /** One section field; at most 10 per section. */
  sectionField: 2000,
  /** A context element's text. */
  contextText: 3000,
  /** Button `text` and `value` (https://docs.slack.dev/reference/block-kit/block-elements/button-element). */
  buttonText: 75,
  buttonValue: 2000,
  /** Option `text`, `value`, `description` (https://docs.slack.dev/reference/block-kit/composition-objects/option-object). */
  optionText: 75,
  optionValue: 150,
  optionDescription: 75,
  /** Options in a static select (https://docs.slack.dev/reference/block-kit/block-elements/select-menu-element). */
  staticSelectOptions: 100,
  /** A view's `private_metadata` (https://docs.slack.dev/reference/views). */
  privateMetadata: 3000,
  /** A view's error message for one block; a confirm dialog's text. */
  viewError: 2000,
  /** A message's top-level `text` (https://docs.slack.dev/reference/methods/chat.postMessage). */
  messageText: 40000,
} as const

const ellipsis = '…'
const graphemes = new Intl.Segmenter('en', { granularity: 'grapheme' })

// String.prototype.toWellFormed does this, but the project's lib is ES2023.
const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g

/** Lone surrogates (half an emoji) become U+FFFD: Slack refuses text that is not valid UTF-16. */
export function wellFormed(text: string): string {
  return text.replace(loneSurrogate, '\uFFFD')
}

/** A control character as it is sent: escaped. */
function escapeOne(piece: string): string {
  switch (piece) {
    case '&':
      return '&amp;'
    case '<':
      return '&lt;'
    case '>':
      return '&gt;'
    case '`':
      return 'ˋ'
    default:
      return piece
  }
}

const controlChars = /[&<>`]/g

/** Escapes data for mrkdwn and top-level `text`, unclipped. Prefer `userText`, which also clips. */
export function escapeMrkdwn(text: string): string {
  return wellFormed(text).replace(controlChars, escapeOne)
}

export interface UserTextOptions {
  /** Keep line breaks (multi-line data in a block of its own). Default: runs of whitespace become one space. */
  multiline?: boolean
}

/**
 * Data (not Roster's own markup) as mrkdwn: escaped, and clipped to `max` characters of the escaped result by
 * grapheme, "…" at the end when cut. Use it for every string that did not come from Roster's own code.
 */
export function userText(
  text: string,
  max: number = slackLimits.messageText,
  options: UserTextOptions = {},
): string {
  const flat = options.multiline ? wellFormed(text) : wellFormed(text).replace(/\s+/g, ' ')
  return clipPieces(
    // A grapheme may carry a control character under a combining mark (`<\u0301`): escaped within it too.
    [...graphemes.segment(flat)].map((s) => s.segment.replace(controlChars, escapeOne)),
    max,
  )
}

/**
 * Text for a `plain_text` object (button and option texts, headers, titles): Slack shows it as is — it parses no
 * mentions, links or entities there — so it is not escaped, only made valid and clipped by grapheme.
 */
export function plainText(text: string, max: number): string {
  return clipPieces(
    [...graphemes.segment(wellFormed(text))].map((s) => s.segment),
    max,
  )
}

/** `<…>` (Roster's mentions, dates, links), an entity, or any other grapheme: the units composed text is cut at. */
const markupToken = /<[^<>]*>|&(?:amp|lt|gt);/g

/**
 * Composed mrkdwn (Roster's markup around `userText` pieces) clipped to `max`: cut only between graphemes, never
 * inside a `<…>` token or an entity. Text within the limit is returned as is.
 */
export function clipMrkdwn(text: string, max: number): string {
  const safe = wellFormed(text)
  if (safe.length <= max) return safe
  const pieces: string[] = []
  let at = 0
  for (const match of safe.matchAll(markupToken)) {
    for (const s of graphemes.segment(safe.slice(at, match.index))) pieces.push(s.segment)
    pieces.push(match[0])
    at = match.index + match[0].length
  }
  for (const s of graphemes.segment(safe.slice(at))) pieces.push(s.segment)
  return clipPieces(pieces, max)
}

/** Joins `pieces`; when longer than `max` code units, keeps whole pieces and ends with "…". */
function clipPieces(pieces: readonly string[], max: number): string {
  let total = 0
  for (const piece of pieces) total += piece.length
  if (total <= max) return pieces.join('')
  const budget = max - ellipsis.length
  let kept = ''
  for (const piece of pieces) {
    if (kept.length + piece.length > budget) break
    kept += piece
  }
  return `${kept}${ellipsis}`
}

/** A code span around data: `` `name` `` with the data escaped and clipped (its backticks cannot close it). */
export function codeText(text: string, max: number = slackLimits.sectionText): string {
  return `\`${userText(text, Math.max(1, max - 2))}\``
}
