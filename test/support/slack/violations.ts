import type { BlockKitProblem } from './block-kit.ts'
import { describeProblem } from './block-kit.ts'
import type { SlackRuleId } from './limits.ts'
import { type Args, SlackApiError } from './types.ts'

/** A call Slack would have refused because the app broke one of Slack's rules (a limit, a required argument…). */
export interface Violation {
  /** The Web API method, or `response_url`, `command_ack`, `view_ack`, `download`, `file_cdn`. */
  method: string
  rule: SlackRuleId | 'shape'
  /** Slack's wording, with the JSON pointer of the offending field. */
  message: string
  at: string
}

/**
 * Every rule the app broke, kept so a test (or the demo) fails when there was any: the emulator's `close()`
 * refuses to pass silently over them. Tests that break rules on purpose take them with `take()`.
 */
export class Violations {
  private readonly list: Violation[] = []

  record(method: string, problems: readonly Pick<BlockKitProblem, 'rule' | 'message' | 'pointer'>[]): void {
    const at = new Date().toISOString()
    for (const p of problems)
      this.list.push({ method, rule: p.rule, message: p.pointer ? describeProblem(p) : p.message, at })
  }

  all(): readonly Violation[] {
    return this.list
  }

  /** Returns the violations so far and forgets them. */
  take(): Violation[] {
    return this.list.splice(0)
  }

  describe(): string {
    return this.list.map((v) => `  ${v.method}: ${v.rule}: ${v.message}`).join('\n')
  }
}

/** A refusal for a broken rule: routes record its problems as violations before answering `{ ok: false }`. */
export class SlackRuleError extends SlackApiError {
  constructor(
    error: string,
    readonly problems: BlockKitProblem[],
    extra: Args = {},
  ) {
    const messages = problems.map(describeProblem)
    super(error, { ...extra, response_metadata: { messages } })
  }
}

/** `invalid_blocks` as `chat.postMessage` answers it: the messages in `errors` and in `response_metadata`. */
export function invalidBlocks(problems: BlockKitProblem[]): SlackRuleError {
  return new SlackRuleError('invalid_blocks', problems, { errors: problems.map(describeProblem) })
}

/** `invalid_arguments` as `views.*` and other methods answer it, the details in `response_metadata.messages`. */
export function invalidArguments(problems: BlockKitProblem[]): SlackRuleError {
  return new SlackRuleError('invalid_arguments', problems)
}
