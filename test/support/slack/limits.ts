/**
 * Slack's published limits, in one table: the emulator refuses what Slack refuses, and the next change to Slack's
 * rules is one edit here. Each rule names the documentation page it comes from. "Characters" are counted as
 * Unicode code points (one emoji is one character, as Slack's own counters show it); where a page does not say
 * how Slack counts, that is the emulator's reading, not a documented fact.
 */

export interface SlackRule {
  /** The most allowed (characters, items, uses, seconds or milliseconds, as the rule says). */
  max: number
  /** What the rule is about, as the refusal message names it. */
  what: string
  source: string
}

const docs = 'https://docs.slack.dev'
const blocks = `${docs}/reference/block-kit/blocks`
const elements = `${docs}/reference/block-kit/block-elements`
const objects = `${docs}/reference/block-kit/composition-objects`

export const slackRules = {
  // Surfaces
  messageBlocks: { max: 50, what: 'blocks in a message', source: `${blocks}` },
  viewBlocks: { max: 100, what: 'blocks in a modal or Home tab', source: `${blocks}` },
  messageText: { max: 40_000, what: 'message text', source: `${docs}/reference/methods/chat.postMessage` },
  viewTitle: { max: 24, what: 'view title', source: `${docs}/reference/views` },
  viewSubmit: { max: 24, what: 'view submit button', source: `${docs}/reference/views` },
  viewClose: { max: 24, what: 'view close button', source: `${docs}/reference/views` },
  viewPrivateMetadata: { max: 3000, what: 'view private_metadata', source: `${docs}/reference/views` },
  viewCallbackId: { max: 255, what: 'view callback_id', source: `${docs}/reference/views` },
  viewExternalId: { max: 255, what: 'view external_id', source: `${docs}/reference/views` },
  // Blocks
  blockId: { max: 255, what: 'block_id (unique in a message or view)', source: `${blocks}/section-block` },
  sectionText: { max: 3000, what: 'section text', source: `${blocks}/section-block` },
  sectionFields: { max: 10, what: 'section fields', source: `${blocks}/section-block` },
  sectionField: { max: 2000, what: 'section field text', source: `${blocks}/section-block` },
  headerText: { max: 150, what: 'header text (plain_text)', source: `${blocks}/header-block` },
  contextElements: { max: 10, what: 'context elements', source: `${blocks}/context-block` },
  actionsElements: { max: 25, what: 'actions elements', source: `${blocks}/actions-block` },
  inputLabel: { max: 2000, what: 'input label (plain_text)', source: `${blocks}/input-block` },
  inputHint: { max: 2000, what: 'input hint (plain_text)', source: `${blocks}/input-block` },
  imageUrl: { max: 3000, what: 'image_url', source: `${blocks}/image-block` },
  imageAltText: { max: 2000, what: 'image alt_text', source: `${blocks}/image-block` },
  // Elements
  actionId: { max: 255, what: 'action_id', source: `${elements}/button-element` },
  buttonText: { max: 75, what: 'button text (plain_text)', source: `${elements}/button-element` },
  buttonValue: { max: 2000, what: 'button value', source: `${elements}/button-element` },
  buttonUrl: { max: 3000, what: 'button url', source: `${elements}/button-element` },
  placeholder: { max: 150, what: 'placeholder (plain_text)', source: `${elements}/select-menu-element` },
  selectOptions: { max: 100, what: 'static_select options', source: `${elements}/select-menu-element` },
  selectOptionGroups: {
    max: 100,
    what: 'static_select option_groups',
    source: `${elements}/select-menu-element`,
  },
  checkboxOptions: { max: 10, what: 'checkboxes options', source: `${elements}/checkboxes-element` },
  radioOptions: { max: 10, what: 'radio_buttons options', source: `${elements}/radio-button-group-element` },
  overflowOptions: { max: 5, what: 'overflow options', source: `${elements}/overflow-menu-element` },
  textInputLength: {
    max: 3000,
    what: 'plain_text_input initial_value / min_length / max_length',
    source: `${elements}/plain-text-input-element`,
  },
  fileInputMaxFiles: { max: 10, what: 'file_input max_files', source: `${elements}/file-input-element` },
  // Composition objects
  textObject: { max: 3000, what: 'text object', source: `${objects}/text-object` },
  plainText: { max: 0, what: 'plain_text where Slack requires it', source: `${objects}/text-object` },
  optionText: { max: 75, what: 'option text', source: `${objects}/option-object` },
  optionValue: { max: 150, what: 'option value', source: `${objects}/option-object` },
  optionDescription: { max: 75, what: 'option description', source: `${objects}/option-object` },
  optionUrl: { max: 3000, what: 'option url', source: `${objects}/option-object` },
  optionGroupLabel: { max: 75, what: 'option group label', source: `${objects}/option-group-object` },
  optionGroupOptions: {
    max: 100,
    what: 'options in an option group',
    source: `${objects}/option-group-object`,
  },
  confirmTitle: { max: 100, what: 'confirm title', source: `${objects}/confirmation-dialog-object` },
  confirmText: { max: 300, what: 'confirm text', source: `${objects}/confirmation-dialog-object` },
  confirmConfirm: { max: 30, what: 'confirm button', source: `${objects}/confirmation-dialog-object` },
  confirmDeny: { max: 30, what: 'deny button', source: `${objects}/confirmation-dialog-object` },
  // Encoding: a lone surrogate (half an emoji) cannot be encoded in UTF-8, which Slack requires of every string.
  utf16: { max: 0, what: 'a valid UTF-16 string (no lone surrogate)', source: `${docs}/apis/web-api/` },
  // Methods and protocol
  chatUpdateArgs: {
    max: 0,
    what: 'chat.update channel and ts',
    source: `${docs}/reference/methods/chat.update`,
  },
  postEphemeralArgs: {
    max: 0,
    what: 'chat.postEphemeral channel and user',
    source: `${docs}/reference/methods/chat.postEphemeral`,
  },
  responseUrlUses: {
    max: 5,
    what: 'posts to one response_url',
    source: `${docs}/interactivity/handling-user-interaction#message_responses`,
  },
  responseUrlTtlMs: {
    max: 30 * 60_000,
    what: 'response_url lifetime (ms)',
    source: `${docs}/interactivity/handling-user-interaction#message_responses`,
  },
  triggerTtlMs: {
    max: 3000,
    what: 'trigger_id lifetime (ms)',
    source: `${docs}/interactivity/handling-user-interaction#modal_responses`,
  },
  retryAfter: {
    max: 0,
    what: 'a call made before Retry-After passed',
    source: `${docs}/apis/web-api/rate-limits`,
  },
  fileCdnNoToken: {
    max: 0,
    what: 'the bot token sent to the file CDN hop',
    source: `${docs}/messaging/working-with-files#authenticating`,
  },
} as const satisfies Record<string, SlackRule>

export type SlackRuleId = keyof typeof slackRules

/** Characters as the emulator counts them against a limit: Unicode code points. */
export function charCount(text: string): number {
  let n = 0
  for (const _ of text) n++
  return n
}

/** True when `text` holds a surrogate half without its partner (what cutting an emoji in two leaves). */
export function hasLoneSurrogate(text: string): boolean {
  return loneSurrogate.test(text)
}

const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/
