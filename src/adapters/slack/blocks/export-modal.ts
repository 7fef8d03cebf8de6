import type { KnownBlock, ModalView, PlainTextOption } from '@slack/types'
import { z } from 'zod'
import type { Connection } from '../../../domain/connections/connection.ts'
import { type ExportFormat, exportFormats } from '../../../domain/export/format.ts'
import { connectionOption, connectionSelect } from './connection-select.ts'

/** The `/export` dialog and the values it comes back with. Pure: no Slack calls. */

export const exportModalCallbackId = 'export_modal'
/** The connection select's value for "every connection" (connection ids start with `con_`, so it cannot clash). */
export const allConnectionsValue = '*all*'

export const exportFormIds = {
  connection: { block: 'export_connection', action: 'connection' },
  format: { block: 'export_format', action: 'format' },
  defaultFields: { block: 'export_default_fields', action: 'default_fields' },
  fields: { block: 'export_fields', action: 'fields' },
  sample: { block: 'export_sample', action: 'sample' },
  gzip: { block: 'export_gzip', action: 'gzip' },
} as const

/** What travels in `private_metadata`: the channel /export was typed in, where the thread goes. */
export const exportModalMetadataSchema = z.object({ channel: z.string().regex(/^[CGD][A-Z0-9]+$/) })
export type ExportModalMetadata = z.infer<typeof exportModalMetadataSchema>

const formatLabels: Record<ExportFormat, string> = {
  json: 'JSON (an array: re-imports as is)',
  ndjson: 'NDJSON (one user per line)',
  csv: 'CSV (for spreadsheets)',
}

const plain = (text: string) => ({ type: 'plain_text' as const, text })
const allOption: PlainTextOption = { text: plain('All connections'), value: allConnectionsValue }

/** "All connections", then every connection: the dialog's options (also what its search answers from). */
export function exportConnectionOptions(connections: readonly Connection[]): PlainTextOption[] {
  return [allOption, ...connections.map(connectionOption)]
}

function checkbox(
  block: string,
  action: string,
  label: string,
  description: string,
  hint?: string,
): KnownBlock {
  return {
    type: 'input',
    block_id: block,
    optional: true,
    label: plain(label),
    ...(hint ? { hint: plain(hint) } : {}),
    element: {
      type: 'checkboxes',
      action_id: action,
      options: [{ text: plain(label), description: plain(description), value: 'on' }],
    },
  }
}

export function exportModal(input: {
  metadata: ExportModalMetadata
  connections: readonly Connection[]
}): ModalView {
  const options = exportConnectionOptions(input.connections)
  const formats: PlainTextOption[] = exportFormats.map((format) => ({
    text: plain(formatLabels[format]),
    value: format,
  }))
  const json: PlainTextOption = { text: plain(formatLabels.json), value: 'json' }
  return {
    type: 'modal',
    callback_id: exportModalCallbackId,
    private_metadata: JSON.stringify(input.metadata),
    title: plain('Export users'),
    submit: plain('Export'),
    close: plain('Cancel'),
    blocks: [
      {
        type: 'input',
        block_id: exportFormIds.connection.block,
        label: plain('Connection'),
        element: connectionSelect(exportFormIds.connection.action, options, allOption),
      },
      {
        type: 'input',
        block_id: exportFormIds.format.block,
        label: plain('Format'),
        element: {
          type: 'radio_buttons',
          action_id: exportFormIds.format.action,
          options: formats,
          initial_option: json,
        },
      },
      checkbox(
        exportFormIds.defaultFields.block,
        exportFormIds.defaultFields.action,
        'Add default fields',
        // An option's description holds 75 characters (Slack refuses the whole dialog past that): the list of
        // eleven goes in the block's hint, which holds 2,000.
        'Id, names, email, picture, connection and dates (listed below)',
        'Id, Given Name, Family Name, Nickname, Name, Email, Email Verified, Picture, Connection, Created At, Updated At',
      ),
      {
        type: 'input',
        block_id: exportFormIds.fields.block,
        optional: true,
        label: plain('Fields'),
        hint: plain(
          'One per line: a field path, optionally "=" and the name to export it as — user_metadata.plan=Plan. ' +
            'Leave empty (and default fields off) for every profile field.',
        ),
        element: {
          type: 'plain_text_input',
          action_id: exportFormIds.fields.action,
          multiline: true,
          placeholder: plain('email\nuser_metadata.plan=Plan'),
        },
      },
      checkbox(
        exportFormIds.sample.block,
        exportFormIds.sample.action,
        'Export as sample (10 users)',
        'Also shown as a table in the thread',
      ),
      checkbox(
        exportFormIds.gzip.block,
        exportFormIds.gzip.action,
        'Compress the file (gzip)',
        'For large exports',
      ),
    ],
  }
}

/** The submitted values as Slack sends them in `view.state.values`, parsed: only what the dialog can hold. */
const stateSchema = z.object({
  [exportFormIds.connection.block]: z.object({
    [exportFormIds.connection.action]: z.object({
      selected_option: z.object({ value: z.string() }).nullish(),
    }),
  }),
  [exportFormIds.format.block]: z.object({
    [exportFormIds.format.action]: z.object({
      selected_option: z.object({ value: z.enum(exportFormats) }).nullish(),
    }),
  }),
  [exportFormIds.defaultFields.block]: checkedSchema(exportFormIds.defaultFields.action),
  [exportFormIds.fields.block]: z.object({
    [exportFormIds.fields.action]: z.object({ value: z.string().nullish() }),
  }),
  [exportFormIds.sample.block]: checkedSchema(exportFormIds.sample.action),
  [exportFormIds.gzip.block]: checkedSchema(exportFormIds.gzip.action),
})

function checkedSchema(action: string) {
  return z.object({
    [action]: z.object({ selected_options: z.array(z.object({ value: z.string() })).nullish() }),
  })
}

export interface ExportModalValues {
  /** A connection id, or undefined for every connection. */
  connection: string | undefined
  format: ExportFormat
  defaultFields: boolean
  /** The fields box as typed. */
  fieldLines: string
  sample: boolean
  gzip: boolean
}

/** The dialog's values, or null if the payload is not the dialog Roster built. */
export function readExportModal(values: unknown): ExportModalValues | null {
  const parsed = stateSchema.safeParse(values)
  if (!parsed.success) return null
  const state = parsed.data
  const checked = (block: Record<string, { selected_options?: { value: string }[] | null | undefined }>) =>
    Object.values(block).some((element) => (element.selected_options?.length ?? 0) > 0)
  const connection = Object.values(state[exportFormIds.connection.block])[0]?.selected_option?.value
  return {
    connection: connection === undefined || connection === allConnectionsValue ? undefined : connection,
    format: Object.values(state[exportFormIds.format.block])[0]?.selected_option?.value ?? 'json',
    defaultFields: checked(state[exportFormIds.defaultFields.block]),
    fieldLines: Object.values(state[exportFormIds.fields.block])[0]?.value ?? '',
    sample: checked(state[exportFormIds.sample.block]),
    gzip: checked(state[exportFormIds.gzip.block]),
  }
}
