import type {
  AllMiddlewareArgs,
  App,
  BlockAction,
  ButtonAction,
  SlackActionMiddlewareArgs,
} from '@slack/bolt'
import type { KnownBlock } from '@slack/types'
import { z } from 'zod'
import { denialText } from '../../../domain/access/roles.ts'
import { requestImportFromDryRun } from '../../../engine/import-from-dry-run.ts'
import { asAppError } from '../../../errors.ts'
import { decidedPreview, importActionIds } from '../blocks/import-preview.ts'
import type { SlackDeps } from '../slack-deps.ts'
import { openImportModal } from './import-flow.ts'

type ActionArgs = SlackActionMiddlewareArgs<BlockAction<ButtonAction>> & AllMiddlewareArgs

const offeredFileSchema = z.object({ id: z.string().regex(/^F[A-Z0-9]+$/), name: z.string().min(1) })

/**
 * The buttons of the import flow: Import and Cancel under a dry run's preview, and the offer under a dropped
 * file. Each checks the `import` role of the person pressing it, whoever started the flow.
 */
export function registerImportActions(app: App, deps: SlackDeps): void {
  /** Dry runs someone already decided on in this process: a double click or two people never import twice. */
  const decided = new Map<string, string>()

  const on = (actionId: string, handle: (args: ActionArgs, value: string) => Promise<void>) => {
    app.action<BlockAction<ButtonAction>>(actionId, async (args) => {
      await args.ack()
      const value = args.action.value ?? ''
      const where = args.body.channel?.id ?? 'unknown'
      const decision = await deps.access.check(args.body.user.id, 'import', where, value)
      if (!decision.allowed) return ephemeral(args, denialText('import', decision.role))
      await handle(args, value)
    })
  }

  on(importActionIds.confirm, async (args, dryRunId) => {
    const user = args.body.user.id
    const earlier = decided.get(dryRunId)
    if (earlier) return ephemeral(args, `That dry run was already ${earlier}.`)
    decided.set(dryRunId, `confirmed by <@${user}>`)
    let jobId: string
    try {
      jobId = (await requestImportFromDryRun(deps.engine, dryRunId, { via: 'slack', id: user })).id
    } catch (error) {
      decided.delete(dryRunId)
      return ephemeral(args, `:warning: ${asAppError(error).message}`)
    }
    // The import speaks in the dry run's thread: the notifier finds it there.
    const thread = deps.threads.get(dryRunId) ?? threadOfMessage(args)
    if (thread) await deps.threads.link(jobId, thread)
    await markDecided(args, dryRunId, { by: user, importJobId: jobId })
  })

  on(importActionIds.cancel, async (args, dryRunId) => {
    const user = args.body.user.id
    const earlier = decided.get(dryRunId)
    if (earlier) return ephemeral(args, `That dry run was already ${earlier}.`)
    decided.set(dryRunId, `cancelled by <@${user}>`)
    await markDecided(args, dryRunId, { by: user })
  })

  on(importActionIds.open, async (args, value) => {
    const file = parseOffer(value)
    const channel = args.body.channel?.id
    if (!file || !channel)
      return ephemeral(args, ':warning: That button no longer works. Drop the file again.')
    const problem = await openImportModal(deps, args.client, args.body.trigger_id, { channel, file })
    if (problem) await ephemeral(args, problem)
  })
}

async function ephemeral({ respond }: ActionArgs, text: string): Promise<void> {
  await respond({ response_type: 'ephemeral', replace_original: false, text })
}

/** The preview loses its buttons and says who decided, for everyone in the thread. */
async function markDecided(
  args: ActionArgs,
  dryRunId: string,
  outcome: { by: string; importJobId?: string },
) {
  const message = args.body.message as { ts?: string; blocks?: KnownBlock[] } | undefined
  const channel = args.body.channel?.id
  if (!message?.ts || !channel) return
  await args.client.chat.update({
    channel,
    ts: message.ts,
    ...decidedPreview(message.blocks ?? [], dryRunId, outcome),
  })
}

/** For a dry run whose thread is no longer registered: the thread the pressed message sits in. */
function threadOfMessage({ body }: ActionArgs) {
  const message = body.message as { ts?: string; thread_ts?: string } | undefined
  const ts = message?.thread_ts ?? message?.ts
  return body.channel?.id && ts ? { channel: body.channel.id, ts, user: body.user.id } : undefined
}

function parseOffer(value: string): z.infer<typeof offeredFileSchema> | undefined {
  try {
    const parsed = offeredFileSchema.safeParse(JSON.parse(value))
    return parsed.success ? parsed.data : undefined
  } catch {
    return undefined
  }
}
