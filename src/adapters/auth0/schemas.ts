import { z } from 'zod'

/**
 * What Roster relies on in the tenant's answers, parsed at this boundary (the SDK's types are not checks: it
 * returns whatever JSON came back). Objects stay loose: Auth0 adds fields freely, and users are passed on whole.
 */

/** A database connection as Roster uses it (reference: management API §7). */
export interface Auth0Connection {
  id: string
  name: string
  /** `options.import_mode`: a custom database taking lazy-migrated users; bulk import needs it on such a one. */
  importMode: boolean
  /** `options.enabledDatabaseCustomization`: a custom (legacy) database. */
  customDatabase: boolean
  /**
   * Whether an application can log in with it (bulk import refuses a disabled one). From `enabled_clients` when the
   * tenant lists them, else Roster's stand-in's `enabled`; undefined when the answer says neither.
   */
  enabled: boolean | undefined
  /** `options.validation.username`: the connection's username length rule, when it sets one. */
  usernameLimits?: { min: number; max: number }
}

export const connectionAnswer = z.looseObject({
  id: z.string(),
  name: z.string(),
  strategy: z.string(),
  options: z
    .looseObject({
      import_mode: z.boolean().optional(),
      enabledDatabaseCustomization: z.boolean().optional(),
      validation: z
        .looseObject({
          username: z.looseObject({ min: z.number().int(), max: z.number().int() }).optional(),
        })
        .nullish(),
    })
    .optional(),
  enabled_clients: z.array(z.string()).optional(),
  enabled: z.boolean().optional(),
})

export function toConnection(answer: z.infer<typeof connectionAnswer>): Auth0Connection {
  const username = answer.options?.validation?.username
  return {
    id: answer.id,
    name: answer.name,
    importMode: answer.options?.import_mode ?? false,
    customDatabase: answer.options?.enabledDatabaseCustomization ?? false,
    enabled: answer.enabled_clients !== undefined ? answer.enabled_clients.length > 0 : answer.enabled,
    ...(username === undefined ? {} : { usernameLimits: { min: username.min, max: username.max } }),
  }
}

/** A tenant user: `user_id`, `email` and `updated_at` are what Roster reads; the rest is carried along. */
export const userAnswer = z.looseObject({
  user_id: z.string(),
  email: z.string().optional(),
  updated_at: z.string().optional(),
})
export type Auth0User = z.infer<typeof userAnswer>

export const jobStatuses = ['pending', 'processing', 'completed', 'failed', 'expired'] as const

export const jobAnswer = z.looseObject({
  id: z.string(),
  type: z.string(),
  status: z.string(),
  connection_id: z.string().optional(),
  connection: z.string().optional(),
  created_at: z.string().optional(),
  external_id: z.string().optional(),
  location: z.string().optional(),
  percentage_done: z.number().optional(),
  time_left_seconds: z.number().optional(),
  status_details: z.string().optional(),
  summary: z
    .looseObject({ total: z.number(), inserted: z.number(), updated: z.number(), failed: z.number() })
    .optional(),
})
export type Auth0Job = z.infer<typeof jobAnswer>

/** One user of an import file that Auth0 could not import, with Auth0's codes (reference: bulk §2.4). */
export const jobUserErrorAnswer = z.looseObject({
  user: z.unknown(),
  errors: z.array(z.looseObject({ code: z.string(), message: z.string(), path: z.string().optional() })),
})
export type Auth0JobUserError = z.infer<typeof jobUserErrorAnswer>

/**
 * `GET /jobs/{id}/errors`, in any of its forms: 204 (no errors; or, for a failed job, nothing to say), an array
 * of per-user errors, or the job itself with `status_details` for a whole-job failure.
 */
export interface Auth0JobErrors {
  users: Auth0JobUserError[]
  /** The job's `status_details` when Auth0 answered with the job instead of a list. */
  statusDetails: string | undefined
}
