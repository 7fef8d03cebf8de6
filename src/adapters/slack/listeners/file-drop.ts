import type { App } from '@slack/bolt'
import { z } from 'zod'
import { fileOffer } from '../blocks/import-preview.ts'
import { userText } from '../blocks/slack-text.ts'
import { listenerNotification } from '../notifier/plan-notifications.ts'
import { memoryReplayKeys } from '../replay-guard.ts'
import type { SlackDeps } from '../slack-deps.ts'
import { isUsersFileName, tooLargeError } from '../slack-files.ts'
import { failureReason, isPermanentFailure, tellUser } from './reply.ts'

/** The fields of a `message` / `file_share` event Roster relies on. */
const fileShareSchema = z.object({
  subtype: z.literal('file_share'),
  user: z.string(),
  channel: z.string(),
  ts: z.string(),
  thread_ts: z.string().optional(),
  bot_id: z.string().optional(),
  files: z
    .array(
      z.object({
        id: z.string().regex(/^F[A-Z0-9]+$/),
        // Slack Connect files arrive without a name or size until files.info is asked: they are not offered.
        name: z.string().optional(),
        size: z.number().optional(),
        user: z.string().optional(),
      }),
    )
    .default([]),
})

/** Offers per message at most: a drop of twenty files should not become twenty buttons. */
const maxOffersPerMessage = 3

/**
 * A users file dropped into a channel Roster is in: if the person who dropped it may import, a button in the
 * file's thread opens the import dialog with that file. Others get nothing (a channel is not spammed with
 * refusals); the decision is audited all the same. Roster's own uploads (exports, error reports) are ignored,
 * and so are Slack's retries of an event already handled.
 */
export function registerFileDrop(app: App, deps: SlackDeps): void {
  // Slack may tell of one drop in more than one event (and retry each), to any replica: the keys are the replay
  // guard's, shared by every replica on PostgreSQL, so one drop gets one offer.
  const seen = deps.replay ?? memoryReplayKeys()
  app.event('message', async ({ event, body, client }) => {
    const parsed = fileShareSchema.safeParse(event)
    if (!parsed.success) return
    const drop = parsed.data
    const bot = deps.botUserId()
    if (drop.bot_id || drop.user === bot) return
    if (!(await seen.firstTime(`file-drop-event:${body.event_id}`))) return
    const files: typeof drop.files = []
    for (const file of drop.files) {
      if (files.length === maxOffersPerMessage) break
      if (file.user === bot || file.name === undefined || !isUsersFileName(file.name)) continue
      if (await seen.firstTime(`file-drop:${drop.channel}:${drop.ts}:${file.id}`)) files.push(file)
    }
    if (files.length === 0) return
    const decision = await deps.access.check(
      drop.user,
      'import',
      drop.channel,
      files.map((f) => f.id).join(','),
    )
    if (!decision.allowed) return
    const threadTs = drop.thread_ts ?? drop.ts
    for (const file of files) {
      const name = file.name ?? file.id
      if ((file.size ?? 0) > deps.importMaxBytes) {
        const refusal = `:no_entry: ${userText(name, 200)} is too large to import. ${tooLargeError(deps.importMaxBytes).message} Split it into smaller files.`
        await tellUser(deps, client, { channel: drop.channel, user: drop.user, threadTs }, refusal)
        continue
      }
      const offer = fileOffer({ id: file.id, name })
      try {
        await client.chat.postMessage({ channel: drop.channel, thread_ts: threadTs, ...offer })
      } catch (error) {
        // The offer is the only answer the drop gets: when Slack does not take it now, it is kept and posted
        // when Slack answers again (the file and its button still work then). Refused for good: logged.
        const reason = failureReason(error)
        deps.logger.warn('file offer not posted', { channel: drop.channel, file: file.id, reason, error })
        if (isPermanentFailure(error)) continue
        await deps.outbox
          .keep([
            listenerNotification({
              jobId: `drop-${drop.channel}-${drop.ts}-${file.id}`,
              kind: 'post',
              at: new Date().toISOString(),
              message: offer,
              target: { channel: drop.channel, threadTs, user: drop.user },
            }),
          ])
          .catch((keepError: unknown) =>
            deps.logger.error('file offer not kept for Slack', { file: file.id, error: keepError }),
          )
      }
    }
  })
}
