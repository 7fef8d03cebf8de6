import { createFile, recordShare, setFileBytes } from './files.ts'
import { blocksOf, type MethodHandler, required, str } from './method-args.ts'
import { checkMessage } from './payload-rules.ts'
import { SlackApiError, type SlackFile } from './types.ts'

/** `files.info` and the external upload pair `filesUploadV2` drives (the byte upload itself is an HTTP route). */
export const fileMethods: Record<string, MethodHandler> = {
  'files.info': (args, { ws }) => {
    const id = required(args, 'file', 'file_not_found')
    const entry = ws.files.get(id)
    if (!entry || ws.uploads.has(id)) throw new SlackApiError('file_not_found')
    return { file: entry.file, comments: [], response_metadata: { next_cursor: '' } }
  },

  'files.getUploadURLExternal': (args, { ws }) => {
    const filename = required(args, 'filename')
    const length = Number(required(args, 'length'))
    if (!Number.isInteger(length) || length <= 0) throw new SlackApiError('invalid_arguments')
    const file = createFile(ws, { name: filename, user: ws.config.botUserId })
    ws.uploads.set(file.id, { filename, length })
    return { upload_url: `${ws.config.baseUrl}/upload/v1/${file.id}`, file_id: file.id }
  },

  'files.completeUploadExternal': (args, { ws }) => {
    const list = args.files
    if (!Array.isArray(list) || list.length === 0) throw new SlackApiError('invalid_arguments')
    const done: SlackFile[] = list.map((item: unknown) => {
      const { id, title } = (item ?? {}) as { id?: unknown; title?: unknown }
      const upload = typeof id === 'string' ? ws.uploads.get(id) : undefined
      const entry = typeof id === 'string' ? ws.files.get(id) : undefined
      // A file whose bytes never reached the upload URL cannot be completed.
      if (!upload?.bytes || !entry) throw new SlackApiError('file_not_found')
      if (typeof title === 'string' && title !== '') entry.file.title = title
      return entry.file
    })
    const channels = [str(args, 'channel_id'), ...(str(args, 'channels')?.split(',') ?? [])].filter(
      (c): c is string => c !== undefined && c !== '',
    )
    const targets = channels.map((c) => ws.resolveChannel(c))
    const threadTs = str(args, 'thread_ts')
    const comment = str(args, 'initial_comment')
    checkMessage(args, 'initial_comment')
    const blocks = comment === undefined ? blocksOf(args, 50) : undefined
    if (threadTs && targets.length === 0) throw new SlackApiError('invalid_arguments')
    if (threadTs && targets.some((channel) => !ws.find(channel.id, threadTs)))
      throw new SlackApiError('thread_not_found')
    // Everything is checked: now make the files real and share them, so a failed call changes nothing.
    for (const file of done) {
      const upload = ws.uploads.get(file.id)
      if (upload?.bytes) setFileBytes(ws, file.id, upload.bytes)
      ws.uploads.delete(file.id)
    }
    for (const channel of targets) {
      const stored = ws.post({
        channel: channel.id,
        user: ws.config.botUserId,
        text: comment ?? '',
        blocks,
        threadTs,
        asBot: true,
        files: done,
      })
      for (const file of done)
        recordShare(ws, file, channel.id, stored.message.ts, stored.message.thread_ts, ws.config.botUserId)
    }
    return { files: done }
  },
}
