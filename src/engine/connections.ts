import { type Connection, connectionSchema } from '../domain/connections/connection.ts'
import { AppError } from '../errors.ts'
import type { EngineContext } from './context.ts'

export interface NewConnection {
  name: string
  strategy: string
  enabled?: boolean
  importMode?: boolean
  usernameLimits?: { min: number; max: number }
}

export async function addConnection(ctx: EngineContext, input: NewConnection): Promise<Connection> {
  const candidate = {
    id: ctx.ids.connectionId(),
    name: input.name,
    strategy: input.strategy,
    enabled: input.enabled ?? true,
    ...(input.importMode === undefined ? {} : { import_mode: input.importMode }),
    ...(input.usernameLimits === undefined ? {} : { username_limits: input.usernameLimits }),
    created_at: ctx.clock.now().toISOString(),
  }
  const parsed = connectionSchema.safeParse(candidate)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    throw new AppError('invalid_request', `Invalid connection ${issue?.path.join('.')}: ${issue?.message}`)
  }
  return ctx.catalog.update((draft) => {
    if (draft.connections.some((c) => c.name === input.name)) {
      throw new AppError('invalid_request', `A connection named ${input.name} already exists.`)
    }
    draft.connections.push(parsed.data)
    return parsed.data
  })
}
