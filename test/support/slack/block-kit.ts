import { charCount, hasLoneSurrogate, type SlackRuleId, slackRules } from './limits.ts'

/**
 * Block Kit as Slack checks it: every block and element type Roster may send, with the limits of `limits.ts`.
 * Each problem carries a JSON pointer into the payload, as Slack's own refusals do.
 */

export interface BlockKitProblem {
  rule: SlackRuleId | 'shape'
  pointer: string
  message: string
}

type Obj = Record<string, unknown>

class Checker {
  readonly problems: BlockKitProblem[] = []
  private readonly blockIds = new Set<string>()

  fail(rule: BlockKitProblem['rule'], pointer: string, message: string) {
    this.problems.push({ rule, pointer, message })
  }

  /** A string of at most the rule's length; `required` makes it mandatory and non-empty. */
  string(value: unknown, pointer: string, rule: SlackRuleId, required = false) {
    if (value === undefined && !required) return
    if (typeof value !== 'string' || (required && value === '')) {
      this.fail('shape', pointer, 'must be a non-empty string')
      return
    }
    const { max, what } = slackRules[rule]
    if (charCount(value) > max) this.fail(rule, pointer, `must be less than ${max + 1} characters (${what})`)
  }

  /** A text object: `plain_text` (or `mrkdwn` unless `plainOnly`) with 1 to `rule.max` characters. */
  text(value: unknown, pointer: string, rule: SlackRuleId, plainOnly: boolean, required = true) {
    if (value === undefined && !required) return
    if (!isObj(value)) return this.fail('shape', pointer, 'must be a text object')
    if (value.type !== 'plain_text' && value.type !== 'mrkdwn')
      return this.fail('shape', `${pointer}/type`, 'must be plain_text or mrkdwn')
    if (plainOnly && value.type !== 'plain_text')
      this.fail('plainText', `${pointer}/type`, 'must be plain_text here (mrkdwn is not allowed)')
    this.string(value.text, `${pointer}/text`, rule, true)
  }

  /** An array of 1 to `rule.max` items (or 0 when `allowEmpty`), each checked by `each`. */
  list(
    value: unknown,
    pointer: string,
    rule: SlackRuleId,
    each: (item: unknown, pointer: string) => void,
    required = true,
  ) {
    if (value === undefined && !required) return
    if (!Array.isArray(value) || value.length === 0)
      return this.fail('shape', pointer, 'must be a non-empty array')
    const { max, what } = slackRules[rule]
    if (value.length > max) this.fail(rule, pointer, `must be no more than ${max} items (${what})`)
    for (const [i, item] of value.entries()) each(item, `${pointer}/${i}`)
  }

  blocks(value: unknown, pointer: string, rule: 'messageBlocks' | 'viewBlocks') {
    if (!Array.isArray(value)) return this.fail('shape', pointer, 'must be an array of blocks')
    const { max, what } = slackRules[rule]
    if (value.length > max) this.fail(rule, pointer, `must be no more than ${max} items (${what})`)
    for (const [i, block] of value.entries()) this.block(block, `${pointer}/${i}`)
  }

  block(block: unknown, p: string) {
    if (!isObj(block) || typeof block.type !== 'string')
      return this.fail('shape', `${p}/type`, 'missing required field: type')
    if (block.block_id !== undefined) {
      this.string(block.block_id, `${p}/block_id`, 'blockId', true)
      if (typeof block.block_id === 'string') {
        if (this.blockIds.has(block.block_id))
          this.fail('blockId', `${p}/block_id`, `block_id "${block.block_id}" is used twice`)
        this.blockIds.add(block.block_id)
      }
    }
    switch (block.type) {
      case 'section':
        if (block.text === undefined && block.fields === undefined)
          this.fail('shape', p, 'a section needs text or fields')
        this.text(block.text, `${p}/text`, 'sectionText', false, false)
        this.list(
          block.fields,
          `${p}/fields`,
          'sectionFields',
          (f, fp) => this.text(f, fp, 'sectionField', false),
          false,
        )
        if (block.accessory !== undefined) this.element(block.accessory, `${p}/accessory`)
        return
      case 'header':
        return this.text(block.text, `${p}/text`, 'headerText', true)
      case 'context':
        return this.list(block.elements, `${p}/elements`, 'contextElements', (e, ep) =>
          isObj(e) && e.type === 'image' ? this.image(e, ep) : this.text(e, ep, 'textObject', false),
        )
      case 'actions':
        return this.list(block.elements, `${p}/elements`, 'actionsElements', (e, ep) => this.element(e, ep))
      case 'input':
        this.text(block.label, `${p}/label`, 'inputLabel', true)
        this.text(block.hint, `${p}/hint`, 'inputHint', true, false)
        if (block.element === undefined) return this.fail('shape', `${p}/element`, 'missing required field')
        return this.element(block.element, `${p}/element`)
      case 'image':
        return this.image(block, p)
      case 'divider':
      case 'rich_text':
      case 'markdown':
        return
      default:
        return this.fail('shape', `${p}/type`, `unsupported block type ${block.type}`)
    }
  }

  image(image: Obj, p: string) {
    this.string(image.image_url, `${p}/image_url`, 'imageUrl', image.slack_file === undefined)
    this.string(image.alt_text, `${p}/alt_text`, 'imageAltText', true)
  }

  element(element: unknown, p: string) {
    if (!isObj(element) || typeof element.type !== 'string')
      return this.fail('shape', `${p}/type`, 'missing required field: type')
    this.string(element.action_id, `${p}/action_id`, 'actionId')
    if (element.confirm !== undefined) this.confirm(element.confirm, `${p}/confirm`)
    this.text(element.placeholder, `${p}/placeholder`, 'placeholder', true, false)
    const option = (o: unknown, op: string) => this.option(o, op, false)
    const richOption = (o: unknown, op: string) => this.option(o, op, true)
    switch (element.type) {
      case 'button':
        this.text(element.text, `${p}/text`, 'buttonText', true)
        this.string(element.value, `${p}/value`, 'buttonValue')
        this.string(element.url, `${p}/url`, 'buttonUrl')
        return
      case 'static_select':
      case 'multi_static_select':
        if ((element.options === undefined) === (element.option_groups === undefined))
          this.fail('shape', p, 'must have exactly one of options and option_groups')
        this.list(element.options, `${p}/options`, 'selectOptions', option, false)
        this.list(
          element.option_groups,
          `${p}/option_groups`,
          'selectOptionGroups',
          (g, gp) => this.group(g, gp),
          false,
        )
        if (element.initial_option !== undefined) option(element.initial_option, `${p}/initial_option`)
        return
      case 'overflow':
        return this.list(element.options, `${p}/options`, 'overflowOptions', option)
      case 'checkboxes':
        return this.list(element.options, `${p}/options`, 'checkboxOptions', richOption)
      case 'radio_buttons':
        this.list(element.options, `${p}/options`, 'radioOptions', richOption)
        if (element.initial_option !== undefined) richOption(element.initial_option, `${p}/initial_option`)
        return
      case 'plain_text_input':
        this.string(element.initial_value, `${p}/initial_value`, 'textInputLength')
        for (const key of ['min_length', 'max_length'] as const)
          this.count(element[key], `${p}/${key}`, 'textInputLength')
        return
      case 'file_input':
        this.count(element.max_files, `${p}/max_files`, 'fileInputMaxFiles')
        return
      case 'external_select':
      case 'multi_external_select':
      case 'users_select':
      case 'multi_users_select':
      case 'conversations_select':
      case 'multi_conversations_select':
      case 'channels_select':
      case 'multi_channels_select':
      case 'datepicker':
      case 'timepicker':
      case 'email_text_input':
      case 'url_text_input':
      case 'number_input':
        return
      default:
        return this.fail('shape', `${p}/type`, `unsupported element type ${element.type}`)
    }
  }

  /** A whole number from 1 to the rule's max. */
  count(value: unknown, pointer: string, rule: SlackRuleId) {
    if (value === undefined) return
    const { max, what } = slackRules[rule]
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > max)
      this.fail(rule, pointer, `must be a whole number from 1 to ${max} (${what})`)
  }

  /** Select menus and overflow menus take plain_text options; checkboxes and radio buttons take mrkdwn too. */
  option(option: unknown, p: string, mrkdwnAllowed: boolean) {
    if (!isObj(option)) return this.fail('shape', p, 'must be an option object')
    this.text(option.text, `${p}/text`, 'optionText', !mrkdwnAllowed)
    this.string(option.value, `${p}/value`, 'optionValue', true)
    this.text(option.description, `${p}/description`, 'optionDescription', !mrkdwnAllowed, false)
    this.string(option.url, `${p}/url`, 'optionUrl')
  }

  group(group: unknown, p: string) {
    if (!isObj(group)) return this.fail('shape', p, 'must be an option group object')
    this.text(group.label, `${p}/label`, 'optionGroupLabel', true)
    this.list(group.options, `${p}/options`, 'optionGroupOptions', (o, op) => this.option(o, op, false))
  }

  confirm(confirm: unknown, p: string) {
    if (!isObj(confirm)) return this.fail('shape', p, 'must be a confirmation dialog object')
    this.text(confirm.title, `${p}/title`, 'confirmTitle', true)
    this.text(confirm.text, `${p}/text`, 'confirmText', false)
    this.text(confirm.confirm, `${p}/confirm`, 'confirmConfirm', true)
    this.text(confirm.deny, `${p}/deny`, 'confirmDeny', true)
  }

  /** Every string anywhere in `value` must be valid UTF-16 (Slack stores UTF-8, which has no half emoji). */
  wellFormed(value: unknown, pointer: string) {
    if (typeof value === 'string') {
      if (hasLoneSurrogate(value))
        this.fail('utf16', pointer, 'must be valid UTF-16 (a lone surrogate: half an emoji?)')
    } else if (Array.isArray(value))
      for (const [i, v] of value.entries()) this.wellFormed(v, `${pointer}/${i}`)
    else if (isObj(value)) for (const [k, v] of Object.entries(value)) this.wellFormed(v, `${pointer}/${k}`)
  }
}

/** The problems of a message (`chat.*`, a `response_url` post, a command's ack): text and up to 50 blocks. */
export function messageProblems(message: Obj): BlockKitProblem[] {
  const c = new Checker()
  c.wellFormed(message, '')
  if (message.blocks !== undefined && message.blocks !== '')
    c.blocks(message.blocks, '/blocks', 'messageBlocks')
  return c.problems
}

/** The problems of a view (`views.open`, `views.update`, `views.push`, `views.publish`, a submission's ack). */
export function viewProblems(view: unknown, pointer = '/view'): BlockKitProblem[] {
  const c = new Checker()
  c.wellFormed(view, pointer)
  if (!isObj(view)) {
    c.fail('shape', pointer, 'missing view')
    return c.problems
  }
  if (view.type !== 'modal' && view.type !== 'home')
    c.fail('shape', `${pointer}/type`, 'must be modal or home')
  c.text(view.title, `${pointer}/title`, 'viewTitle', true, view.type === 'modal')
  c.text(view.submit, `${pointer}/submit`, 'viewSubmit', true, false)
  c.text(view.close, `${pointer}/close`, 'viewClose', true, false)
  if (typeof view.private_metadata === 'string' && view.private_metadata !== '')
    c.string(view.private_metadata, `${pointer}/private_metadata`, 'viewPrivateMetadata')
  if (typeof view.callback_id === 'string' && view.callback_id !== '')
    c.string(view.callback_id, `${pointer}/callback_id`, 'viewCallbackId')
  if (typeof view.external_id === 'string' && view.external_id !== '')
    c.string(view.external_id, `${pointer}/external_id`, 'viewExternalId')
  c.blocks(view.blocks, `${pointer}/blocks`, 'viewBlocks')
  const hasInput = Array.isArray(view.blocks) && view.blocks.some((b) => isObj(b) && b.type === 'input')
  if (view.type === 'modal' && hasInput && view.submit === undefined)
    c.fail('shape', `${pointer}/submit`, 'a modal with input blocks needs a submit button')
  return c.problems
}

/** Slack's wording: `[ERROR] <what> [json-pointer:<where>]`. */
export function describeProblem(problem: BlockKitProblem): string {
  return `[ERROR] ${problem.message} [json-pointer:${problem.pointer}]`
}

function isObj(value: unknown): value is Obj {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
