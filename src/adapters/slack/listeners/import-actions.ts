import type { App } from '@slack/bolt'
import type { KnownBlock } from '@slack/types'
import { z } from 'zod'
import type { DryRunDecision } from '../../../domain/jobs/job.ts'
import { cancelDryRun, requestImportFromDryRun } from '../../../engine/import-from-dry-run.ts'
import { asAppError } from '../../../errors.ts'
import { parseJsonAs } from '../../parse-json-as.ts'
import { decidedPreview, importActionIds } from '../blocks/import-preview.ts'
import { userText } from '../blocks/slack-text.ts'
import { listenerNotification } from '../notifier/plan-notifications.ts'
import type { SlackDeps } from '../slack-deps.ts'
import { type ButtonArgs, onButton } from './buttons.ts'
import { openImportModal } from './import-flow.ts'
import { failureReason, isPermanentFailure } from './reply.ts'

type ActionArgs = ButtonArgs

const offeredFileSchema = z.object({ id: z.string().regex(/^F[A-Z0-9]+$/), name: z.string().min(1) })

/**
 * The buttons of the import flow: Import and Cancel under a dry run's preview, and the offer under a dropped
 * file. Each checks the `import` role of the person pressing it, whoever started the flow.
 */
export function registerImportActions(app: App, deps: SlackDeps): void {
  const on = (actionId: string, handle: (args: ActionArgs, value: string) => Promise<void>) =>
    onButton(app, deps, actionId, 'import', handle)

  // The decision is the dry run's, recorded in the catalog (engine/import-from-dry-run.ts): a double click, two
  // people or two replicas get "already decided", never a second import.
  on(importActionIds.confirm, async (args, dryRunId) => {
    const user = args.body.user.id
    let jobId: string
    try {
      jobId = (await requestImportFromDryRun(deps.engine, dryRunId, { via: 'slack', id: user })).id
    } catch (error) {
      return args.reply({ text: refusalText(error) })
    }
    // The import speaks in the dry run's thread: the notifier finds it there.
    const thread = (await deps.threads.get(dryRunId)) ?? threadOfMessage(args)
    if (thread) await deps.threads.link(jobId, thread)
    await markDecided(deps, args, dryRunId, { by: user, importJobId: jobId })
  })

  on(importActionIds.cancel, async (args, dryRunId) => {
    const user = args.body.user.id
    try {
      await cancelDryRun(deps.engine, dryRunId, { via: 'slack', id: user })
    } catch (error) {
      return args.reply({ text: refusalText(error) })
    }
    await markDecided(deps, args, dryRunId, { by: user })
  })

  on(importActionIds.open, async (args, value) => {
    const file = parseOffer(value)
    const channel = args.body.channel?.id
    if (!file || !channel)
      return args.reply({ text: ':warning: That button no longer works. Drop the file again.' })
    const problem = await openImportModal(
      deps,
      args.client,
      args.body.trigger_id,
      { channel, file },
      undefined,
      'Press the button again.',
    )
    if (problem) await args.reply({ text: problem })
  })
}

/**
 * The preview loses its buttons and says who decided (and, for Import, the import's id: "progress follows in this
 * thread"), for everyone in the thread. That note is the outcome of the press: when Slack does not take the edit
 * (after the WebClient's retries), it is kept in the outbox and made when Slack answers again.
 */
async function markDecided(
  deps: SlackDeps,
  args: ActionArgs,
  dryRunId: string,
  outcome: { by: string; importJobId?: string },
) {
  const message = args.body.message as { ts?: string; blocks?: KnownBlock[] } | undefined
  const channel = args.body.channel?.id
  if (!message?.ts || !channel) return
  const edited = decidedPreview(message.blocks ?? [], dryRunId, outcome)
  try {
    await args.client.chat.update({ channel, ts: message.ts, ...edited })
  } catch (error) {
    const reason = failureReason(error)
    deps.logger.warn('dry run preview not marked decided', { dryRunId, channel, reason, error })
    if (isPermanentFailure(error)) return
    await deps.outbox
      .keep([
        listenerNotification({
          jobId: dryRunId,
          kind: 'edit',
          detail: 'decided',
          at: new Date().toISOString(),
          message: edited,
          target: { channel, ts: message.ts },
        }),
      ])
      .catch((keepError: unknown) =>
        deps.logger.error('dry run decision not kept for Slack', { dryRunId, error: keepError }),
      )
  }
}

/** For a dry run whose thread is no longer registered: the thread the pressed message sits in. */
function threadOfMessage({ body }: ActionArgs) {
  const message = body.message as { ts?: string; thread_ts?: string } | undefined
  const ts = message?.thread_ts ?? message?.ts
  return body.channel?.id && ts ? { channel: body.channel.id, ts, user: body.user.id } : undefined
}

function parseOffer(value: string): z.infer<typeof offeredFileSchema> | undefined {
  return parseJsonAs(offeredFileSchema, value)
}

/** "That dry run was already confirmed by @someone." for a decided dry run; the engine's message otherwise. */
function refusalText(error: unknown): string {
  const appError = asAppError(error)
  const decision = (appError.details as { decision?: DryRunDecision } | undefined)?.decision
  if (appError.code !== 'dry_run_decided' || !decision) return `:warning: ${userText(appError.message, 2000)}`
  const who =
    decision.by.via === 'slack' ? `<@${decision.by.id}>` : userText(decision.by.name ?? decision.by.id, 80)
  return decision.outcome === 'imported'
    ? `That dry run was already confirmed by ${who}.`
    : `That dry run was already cancelled by ${who}.`
}
