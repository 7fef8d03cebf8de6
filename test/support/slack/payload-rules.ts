import { type BlockKitProblem, messageProblems, viewProblems } from './block-kit.ts'
import { charCount, slackRules } from './limits.ts'
import type { Args } from './types.ts'
import { invalidArguments, invalidBlocks, SlackRuleError } from './violations.ts'

/**
 * The refusals of whole payloads, as each method answers them: `invalid_blocks` for messages, `msg_too_long` for
 * an over-long message text, `invalid_arguments` (details in `response_metadata.messages`) for views and
 * required arguments. Each throws a `SlackRuleError`, which the routes record as a violation.
 */

/** A message's `text` and `blocks` (`chat.*`, `response_url`, a command's ack, a file's comment blocks). */
export function checkMessage(args: Args, textKey = 'text'): void {
  const text = args[textKey]
  if (typeof text === 'string' && charCount(text) > slackRules.messageText.max) {
    const message = `must be less than ${slackRules.messageText.max + 1} characters (message text)`
    throw new SlackRuleError('msg_too_long', [{ rule: 'messageText', pointer: `/${textKey}`, message }])
  }
  const problems = messageProblems(args)
  if (problems.length > 0) throw invalidBlocks(problems)
}

/** A view argument of `views.open`, `views.update`, `views.push` or `views.publish`. */
export function checkView(view: unknown): void {
  const problems = viewProblems(view)
  if (problems.length > 0) throw invalidArguments(problems)
}

/** Arguments a method cannot do without: `invalid_arguments` naming each missing one. */
export function requireArgs(args: Args, keys: readonly string[], rule: BlockKitProblem['rule']): void {
  const missing = keys.filter((key) => args[key] === undefined || args[key] === '')
  if (missing.length === 0) return
  throw invalidArguments(
    missing.map((key) => ({ rule, pointer: `/${key}`, message: `missing required field: ${key}` })),
  )
}
