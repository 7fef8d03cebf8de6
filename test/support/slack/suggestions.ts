import type { DriverResponse, SlackDriver } from './driver.ts'
import type { SlackEmulator } from './emulator.ts'
import { payloadContext, personOf } from './interactions.ts'
import { slackRules } from './limits.ts'
import { interactiveBase, stateElements } from './payloads.ts'
import type { Args } from './types.ts'

export interface SuggestInput {
  /** The open view holding the `external_select`. */
  viewId: string
  actionId: string
  /** What the person has typed into the menu so far. */
  value?: string
  /** Defaults to whoever the view was opened for. */
  user?: string
}

/**
 * A person types into an `external_select` of an open view: Slack sends the app a signed `block_suggestion` (to
 * the options load URL — the one request URL here) and shows the options of its answer. Returns the answer and
 * its options (or option groups' options, flattened); a test then submits the view with one of them as the value.
 */
export async function suggestOptions(
  emulator: SlackEmulator,
  driver: SlackDriver,
  input: SuggestInput,
): Promise<DriverResponse & { options: Args[] }> {
  const record = emulator.workspace.views.get(input.viewId)
  if (!record?.open) throw new Error(`View ${input.viewId} is not open`)
  const hit = stateElements(record.view.blocks).find(({ element }) => element.action_id === input.actionId)
  if (!hit) throw new Error(`No element ${input.actionId} in view ${input.viewId}`)
  if (hit.element.type !== 'external_select' && hit.element.type !== 'multi_external_select')
    throw new Error(
      `${input.actionId} is a ${String(hit.element.type)}: Slack asks the app only for external selects`,
    )
  const user = personOf(emulator, input.user ?? record.user)
  const { trigger_id: _none, ...base } = interactiveBase(
    payloadContext(emulator),
    'block_suggestion',
    user,
    '',
  )
  const payload: Args = {
    ...base,
    container: { type: 'view', view_id: record.view.id },
    view: record.view,
    block_id: hit.block.block_id,
    action_id: input.actionId,
    value: input.value ?? '',
  }
  const response = await driver.interaction(payload)
  const body = (response.json ?? {}) as { options?: Args[]; option_groups?: { options?: Args[] }[] }
  const options = [...(body.options ?? []), ...(body.option_groups ?? []).flatMap((g) => g.options ?? [])]
  const broken = answerProblems(options)
  if (broken.length > 0)
    throw new Error(`Slack would show no options; the answer breaks its rules: ${broken.join('; ')}`)
  return { ...response, options }
}

/** An options answer is held to the same limits as a static select's options (Slack's select-menu page). */
function answerProblems(options: Args[]): string[] {
  const chars = (text: unknown) => [...String(text ?? '')].length
  const problems: string[] = []
  if (options.length > slackRules.selectOptions.max)
    problems.push(`${options.length} options (at most ${slackRules.selectOptions.max})`)
  for (const option of options) {
    const text = (option.text as { text?: string } | undefined)?.text
    if (chars(text) > slackRules.optionText.max)
      problems.push(`option text "${text}" over ${slackRules.optionText.max}`)
    if (chars(option.value) > slackRules.optionValue.max)
      problems.push(`option value "${String(option.value)}" over ${slackRules.optionValue.max}`)
  }
  return problems
}
