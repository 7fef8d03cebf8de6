import type { KnownBlock, ModalView, PlainTextOption } from '@slack/types'
import { z } from 'zod'
import type { Connection } from '../../../domain/connections/connection.ts'
import { parseJsonAs } from '../../parse-json-as.ts'
import { connectionOption, connectionSelect } from './connection-select.ts'

/** The `/import` dialog and the payload fields it comes back with. Pure: no Slack calls. */

export const importModalCallbackId = 'import_modal'
export const importFormIds = {
  file: { block: 'import_file', action: 'file' },
  connection: { block: 'import_connection', action: 'connection' },
  options: { block: 'import_options', action: 'options' },
} as const

export const importOptionKeys = ['upsert', 'merge', 'sendCompletionEmail'] as const
export type ImportOptionKey = (typeof importOptionKeys)[number]

const optionLabels: Record<ImportOptionKey, { text: string; description: string }> = {
  upsert: {
    text: 'Upsert pre-existing users',
    description: 'Update users that already exist instead of failing them',
  },
  merge: {
    text: 'Merge metadata instead of replacing',
    description: 'user_metadata and app_metadata are merged key by key',
  },
  sendCompletionEmail: {
    text: 'Send completion email to all tenant owners',
    description: 'Once the import is done',
  },
}

/** What travels in the modal's `private_metadata` (set by Roster, checked again when the dialog comes back). */
export const importModalMetadataSchema = z.object({
  channel: z.string().regex(/^[CGD][A-Z0-9]+$/),
  /**
   * Set when the dialog was opened from a dropped file: that file is imported, no upload field is shown. `name` is
   * the name as shown (escaped and clipped by `userText`, see `fileOffer`): it is only ever displayed.
   */
  file: z.object({ id: z.string().regex(/^F[A-Z0-9]+$/), name: z.string().min(1) }).optional(),
})
export type ImportModalMetadata = z.infer<typeof importModalMetadataSchema>

export interface ImportModalInput {
  metadata: ImportModalMetadata
  /** Connections that accept imports; the first is preselected unless `selected` names another. */
  connections: readonly Connection[]
  selected?: string | undefined
  maxBytes: number
}

const plain = (text: string) => ({ type: 'plain_text' as const, text })

/** The importable connections as the dialog's options (also what its search answers from). */
export function importConnectionOptions(connections: readonly Connection[]): PlainTextOption[] {
  return connections.map(connectionOption)
}

export function importModal(input: ImportModalInput): ModalView {
  const { metadata, connections, maxBytes } = input
  const options = importConnectionOptions(connections)
  const initial = options.find((o) => o.value === input.selected) ?? options[0]
  // Within Slack's 3,000 characters by construction: a channel id and a file name clipped to 300 (see fileOffer).
  const privateMetadata = JSON.stringify(metadata)
  const limit = `up to ${maxBytes.toLocaleString('en-US')} bytes`
  const fileBlock: KnownBlock = metadata.file
    ? { type: 'section', text: { type: 'mrkdwn', text: `*File:* \`${metadata.file.name}\`` } } // already escaped
    : {
        type: 'input',
        block_id: importFormIds.file.block,
        label: plain('Users file'),
        hint: plain(`JSON array, NDJSON or CSV (gzipped too), ${limit}.`),
        element: {
          type: 'file_input',
          action_id: importFormIds.file.action,
          filetypes: ['json', 'ndjson', 'csv', 'gz'],
          max_files: 1,
        },
      }
  return {
    type: 'modal',
    callback_id: importModalCallbackId,
    private_metadata: privateMetadata,
    title: plain('Import users'),
    submit: plain('Dry run'),
    close: plain('Cancel'),
    blocks: [
      fileBlock,
      {
        type: 'input',
        block_id: importFormIds.connection.block,
        label: plain('Connection'),
        element: connectionSelect(importFormIds.connection.action, options, initial),
      },
      {
        type: 'input',
        block_id: importFormIds.options.block,
        optional: true,
        label: plain('Options'),
        element: {
          type: 'checkboxes',
          action_id: importFormIds.options.action,
          options: importOptionKeys.map((key) => ({
            text: plain(optionLabels[key].text),
            description: plain(optionLabels[key].description),
            value: key,
          })),
        },
      },
      {
        type: 'context',
        elements: [
          {
            type: 'mrkdwn',
            text: 'A dry run comes first: nothing is written until someone presses *Import*.',
          },
        ],
      },
    ],
  }
}

const uploadedFileSchema = z.object({ id: z.string(), name: z.string(), size: z.number().optional() })

/** `view.state.values` as the dialog sends it back; every field optional, checked by the caller. */
const stateSchema = z.object({
  [importFormIds.file.block]: z
    .object({ [importFormIds.file.action]: z.object({ files: z.array(uploadedFileSchema).nullish() }) })
    .optional(),
  [importFormIds.connection.block]: z
    .object({
      [importFormIds.connection.action]: z.object({
        selected_option: z.object({ value: z.string() }).nullish(),
      }),
    })
    .optional(),
  [importFormIds.options.block]: z
    .object({
      [importFormIds.options.action]: z.object({
        selected_options: z.array(z.object({ value: z.string() })).nullish(),
      }),
    })
    .optional(),
})

export interface ImportForm {
  file: { id: string; name: string; size?: number | undefined } | undefined
  connectionId: string | undefined
  options: Record<ImportOptionKey, boolean>
}

export function readImportForm(values: unknown): ImportForm {
  const state = stateSchema.safeParse(values)
  const data = state.success ? state.data : {}
  const chosen = new Set((data.import_options?.options.selected_options ?? []).map((o) => o.value))
  return {
    file: data.import_file?.file.files?.[0],
    connectionId: data.import_connection?.connection.selected_option?.value,
    options: {
      upsert: chosen.has('upsert'),
      merge: chosen.has('merge'),
      sendCompletionEmail: chosen.has('sendCompletionEmail'),
    },
  }
}

export function readImportMetadata(raw: string): ImportModalMetadata | undefined {
  return parseJsonAs(importModalMetadataSchema, raw)
}
