import type { SocketModeHub } from './socket-mode.ts'
import { type Args, type Block, SlackApiError } from './types.ts'
import type { Workspace } from './workspace.ts'

export interface MethodContext {
  ws: Workspace
  socket: SocketModeHub
}

/** A Web API method: the fields of `{ ok: true, ... }`, or a thrown `SlackApiError` for `{ ok: false, error }`. */
export type MethodHandler = (args: Args, ctx: MethodContext) => Args | Promise<Args>

/** A string argument (form bodies carry everything as strings; JSON bodies may carry numbers). */
export function str(args: Args, key: string): string | undefined {
  const value = args[key]
  if (typeof value === 'string' && value !== '') return value
  if (typeof value === 'number') return String(value)
  return undefined
}

export function required(args: Args, key: string, error = 'invalid_arguments'): string {
  const value = str(args, key)
  if (value === undefined)
    throw new SlackApiError(error, { response_metadata: { messages: [`missing ${key}`] } })
  return value
}

export function bool(args: Args, key: string): boolean {
  const value = args[key]
  return value === true || value === 'true' || value === '1' || value === 1
}

/** `blocks` as an array of typed objects, at most `max` of them, else Slack's `invalid_blocks`. */
export function blocksOf(args: Args, max: number, key = 'blocks'): Block[] | undefined {
  const value = args[key]
  if (value === undefined || value === '') return undefined
  if (!Array.isArray(value)) throw invalidBlocks(`${key} must be a JSON array`)
  if (value.length > max) throw invalidBlocks(`no more than ${max} items allowed [json-pointer:/${key}]`)
  value.forEach((block, index) => {
    if (typeof block !== 'object' || block === null || typeof block.type !== 'string') {
      throw invalidBlocks(`missing required field: type [json-pointer:/${key}/${index}]`)
    }
  })
  return value as Block[]
}

function invalidBlocks(message: string): SlackApiError {
  return new SlackApiError('invalid_blocks', {
    errors: [message],
    response_metadata: { messages: [message] },
  })
}
