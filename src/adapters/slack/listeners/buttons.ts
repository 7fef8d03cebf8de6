import type {
  AllMiddlewareArgs,
  App,
  BlockAction,
  ButtonAction,
  SlackActionMiddlewareArgs,
} from '@slack/bolt'
import { type AccessAction, denialText } from '../../../domain/access/roles.ts'
import type { SlackDeps } from '../slack-deps.ts'
import { createReply, type EphemeralReply } from './reply.ts'

export type ButtonArgs = SlackActionMiddlewareArgs<BlockAction<ButtonAction>> &
  AllMiddlewareArgs & {
    /** Only the presser sees it: `response_url` retried, then `chat.postEphemeral`, then logged; never throws. */
    reply: (reply: EphemeralReply) => Promise<void>
  }

/**
 * Registers a button: acked at once, then the role check for the person who pressed it (whoever started the flow;
 * every decision audited), a denial told to them alone, and `handle` with the button's value.
 */
export function onButton(
  app: App,
  deps: SlackDeps,
  actionId: string,
  needs: AccessAction,
  handle: (args: ButtonArgs, value: string) => Promise<void>,
): void {
  app.action<BlockAction<ButtonAction>>(actionId, async (bolt) => {
    await bolt.ack()
    const { body } = bolt
    const person = { channel: body.channel?.id ?? body.user.id, user: body.user.id }
    const args = { ...bolt, reply: createReply(deps, bolt.client, body.response_url, person) }
    const value = args.action.value ?? ''
    const decision = await deps.access.check(body.user.id, needs, body.channel?.id ?? 'unknown', value)
    if (!decision.allowed) {
      await args.reply({ text: denialText(needs, decision.role) })
      return
    }
    await handle(args, value)
  })
}
