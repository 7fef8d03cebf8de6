import type { KnownBlock } from '@slack/types'
import type { WebClient } from '@slack/web-api'
import { fetchWithRetry } from '../http-retry.ts'
import { classifySlackError } from '../notifier/retry-plan.ts'
import type { SlackDeps } from '../slack-deps.ts'

/**
 * Answers only the person who acted: denials, "the dialog did not open", "no job …". They mean nothing later, so
 * they are retried within the request's life (429 after its Retry-After, 5xx, no answer) and, when Slack still
 * does not take them, logged — never kept. None of these throws: a listener always gets to its end.
 */

export interface Person {
  channel: string
  user: string
  threadTs?: string | undefined
}

export interface EphemeralReply {
  text: string
  blocks?: KnownBlock[]
}

/** Why a Slack call failed, in Slack's words (`ratelimited`, `http_503`, `network`, `channel_not_found`…). */
export function failureReason(error: unknown): string {
  return classifySlackError(error).reason
}

/** Slack refused for good (the channel is gone, Roster is not in it…): retrying later would not help. */
export function isPermanentFailure(error: unknown): boolean {
  return classifySlackError(error).kind === 'permanent'
}

/**
 * Tells one person something only they see: ephemeral in the channel (in a thread if given), or by direct
 * message when the bot cannot post there (not a member, archived…). The WebClient retries each call.
 */
export async function tellUser(
  deps: Pick<SlackDeps, 'logger'>,
  client: WebClient,
  target: Person,
  text: string,
): Promise<boolean> {
  try {
    await client.chat.postEphemeral({
      channel: target.channel,
      user: target.user,
      text,
      ...(target.threadTs ? { thread_ts: target.threadTs } : {}),
    })
    return true
  } catch (ephemeralError) {
    try {
      await client.chat.postMessage({ channel: target.user, text })
      return true
    } catch (error) {
      deps.logger.warn('could not tell the user; Slack did not take the message', {
        user: target.user,
        channel: target.channel,
        reason: failureReason(error),
        ephemeralReason: failureReason(ephemeralError),
        text,
      })
      return false
    }
  }
}

/**
 * Bolt's `respond()` posts the `response_url` once and throws on any non-2xx. This one retries (429 after its
 * Retry-After, 5xx, no answer); when the URL is spent or Slack still refuses, it falls back to `tellUser`.
 */
export function createReply(
  deps: Pick<SlackDeps, 'logger' | 'retry'>,
  client: WebClient,
  responseUrl: string | undefined,
  person: Person,
): (reply: EphemeralReply) => Promise<void> {
  return async (reply) => {
    if (responseUrl) {
      let why: string
      try {
        const response = await fetchWithRetry(
          responseUrl,
          () => ({
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ response_type: 'ephemeral', replace_original: false, ...reply }),
            redirect: 'error',
          }),
          deps.retry,
        )
        await response.body?.cancel().catch(() => undefined)
        if (response.ok) return
        why = `http_${response.status}`
      } catch {
        why = 'network'
      }
      deps.logger.warn('response_url did not take the reply; trying chat.postEphemeral', {
        user: person.user,
        reason: why,
      })
    }
    await tellUser(deps, client, person, reply.text)
  }
}
