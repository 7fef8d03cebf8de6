import type { ExternalSelect, PlainTextOption, StaticSelect } from '@slack/types'
import type { Connection } from '../../../domain/connections/connection.ts'
import { plainText, slackLimits } from './slack-text.ts'

/**
 * The connection picker of the import and export dialogs, for any number of connections. Slack refuses a static
 * select with more than 100 options, so beyond that the picker is an `external_select`: Slack asks Roster for
 * options as the person types (a `block_suggestion` request, answered by `connection-options.ts`), up to 100 a
 * time, filtered by what was typed.
 */

const plain = (text: string) => ({ type: 'plain_text' as const, text })

/** A connection as an option: its name clipped to Slack's 75 characters (names may have 128), its id as value. */
export function connectionOption(connection: Connection): PlainTextOption {
  return { text: plain(plainText(connection.name, slackLimits.optionText)), value: connection.id }
}

/** Whether these options fit a static select; otherwise the dialog searches them (external_select). */
export function fitsStaticSelect(options: readonly PlainTextOption[]): boolean {
  return options.length <= slackLimits.staticSelectOptions
}

/** The picker element: every option listed when they fit, searched as the person types when they do not. */
export function connectionSelect(
  actionId: string,
  options: PlainTextOption[],
  initial: PlainTextOption | undefined,
): StaticSelect | ExternalSelect {
  const start = initial ? { initial_option: initial } : {}
  if (fitsStaticSelect(options)) return { type: 'static_select', action_id: actionId, options, ...start }
  return {
    type: 'external_select',
    action_id: actionId,
    // 0: the list shows (its first 100) as soon as the menu opens, before anything is typed.
    min_query_length: 0,
    placeholder: plain(`Type to search ${options.length.toLocaleString('en-US')} connections`),
    ...start,
  }
}

/**
 * The options matching what the person typed (case-insensitive, in the name or the id), in their order, at
 * most Slack's 100 per answer. Nothing typed: the first 100.
 */
export function matchingOptions(options: readonly PlainTextOption[], typed: string): PlainTextOption[] {
  const query = typed.trim().toLowerCase()
  const hits =
    query === ''
      ? options
      : options.filter(
          (option) =>
            option.text.text.toLowerCase().includes(query) || option.value?.toLowerCase().includes(query),
        )
  return hits.slice(0, slackLimits.staticSelectOptions)
}
