import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import util from 'node:util'
import cron from 'node-cron'
import { z } from 'zod'
import { type Auth0Settings, auth0SettingNames, auth0SettingsSchema } from './adapters/auth0/settings.ts'
import { type FaultRule, parseFaultRules } from './domain/api/fault-rules.ts'
import { AppError } from './errors.ts'
import { logLevels } from './logger.ts'

/**
 * Every environment variable Roster reads, validated once at start. Names appear nowhere else; the rest of the
 * code gets the typed `Config`. `.env.example` lists the same keys (a test keeps them in step).
 */
const integer = (min: number, max: number, what: string) =>
  z.coerce
    .number({ error: `expected ${what}` })
    .int({ error: `expected ${what}` })
    .min(min, { error: `expected ${what}` })
    .max(max, { error: `expected ${what}` })

/** `a, b ,c` → ['a', 'b', 'c'], each checked by `item`. */
const commaList = (item: z.ZodString | z.ZodEmail) =>
  z
    .string()
    .default('')
    .transform((value) =>
      value
        .split(',')
        .map((entry) => entry.trim())
        .filter(Boolean),
    )
    .pipe(z.array(item))

const optionalText = z
  .string()
  .optional()
  .transform((value) => (value === undefined || value.trim() === '' ? undefined : value.trim()))

const cronExpression = z
  .string()
  .refine((value) => cron.validate(value), { error: 'expected a cron expression such as "*/15 * * * *"' })

/** A cron expression, or `off`: checked at start, so a typo stops Roster instead of silently never backing up. */
const cronOrOff = z
  .string()
  .transform((value) => (value.trim().toLowerCase() === 'off' ? 'off' : value))
  .refine((value) => value === 'off' || cron.validate(value), {
    error: 'expected a cron expression such as "0 3 * * *", or off',
  })

export const envSchema = z.object({
  PORT: integer(0, 65535, 'a TCP port number from 0 to 65535').default(3000),
  STORE_DIR: z.string().min(1).default('./store'),
  // Set: the store is this PostgreSQL database (issue 14, in progress). Unset: the embedded store in STORE_DIR.
  DATABASE_URL: optionalText.pipe(
    z
      .string()
      .refine(isPostgresUrl, {
        error:
          'expected a URL naming the database, such as postgres://roster:password@db.example.com:5432/roster',
      })
      .optional(),
  ),
  IMPORT_MAX_BYTES: integer(1, 100 * 1024 * 1024, 'a size in bytes from 1 to 104857600').default(512000),
  JOB_RETENTION_HOURS: integer(1, 24 * 365, 'a whole number of hours, at least 1').default(24),
  MAX_ACTIVE_IMPORTS: integer(1, 64, 'a whole number from 1 to 64').default(2),
  // Replicas on PostgreSQL: how long a claim on a job (and on a notification being sent) holds unless renewed.
  // Unset: 30 s for jobs (each store's own defaults for notifications); renewed every third of it.
  JOB_LEASE_SECONDS: z.preprocess(
    (value) => (typeof value === 'string' && value.trim() === '' ? undefined : value),
    integer(3, 3600, 'a whole number of seconds from 3 to 3600').optional(),
  ),
  RETENTION_CRON: cronExpression.default('*/15 * * * *'),
  BACKUP_CRON: cronOrOff.default('0 3 * * *'),
  BACKUP_KEEP: integer(1, 1000, 'a whole number of backups from 1 to 1000').default(7),
  // Unset (or empty): the store keeps what it has (first start: "roster", no owners). Set: applied at every start.
  TENANT_NAME: optionalText.pipe(
    z
      .string()
      .regex(/^[a-z0-9][a-z0-9-]*$/, {
        error: 'expected lower-case letters, digits and dashes, like "acme-prod"',
      })
      .optional(),
  ),
  TENANT_OWNERS: commaList(z.email({ error: 'expected comma-separated email addresses' })),
  LOG_LEVEL: z.enum(logLevels).default('info'),
  SLACK_BOT_TOKEN: optionalText,
  SLACK_SIGNING_SECRET: optionalText,
  SLACK_APP_TOKEN: optionalText,
  SLACK_ADMINS: commaList(
    z
      .string()
      .regex(/^[UW][A-Z0-9]{2,}$/, { error: 'expected comma-separated Slack user ids like U0123ABCD' }),
  ),
  SLACK_API_URL: z
    .url({ error: 'expected a URL such as https://slack.com/api/' })
    .default('https://slack.com/api/'),
  PUBLIC_URL: optionalText.pipe(
    z
      .url({ protocol: /^https?$/, error: 'expected a URL such as https://roster.example.com' })
      .transform((url) => url.replace(/\/+$/, ''))
      .optional(),
  ),
  API_RATE_LIMIT: z.preprocess(
    (value) => (typeof value === 'string' && value.trim() === '' ? undefined : value),
    integer(
      1,
      100_000,
      'a whole number of requests per second from 1 to 100000, or nothing for no limit',
    ).optional(),
  ),
  SMTP_URL: optionalText.pipe(
    z.url({ error: 'expected a URL such as smtp://user:pass@host:587' }).optional(),
  ),
  // The Auth0 tenant that is the directory (issue 13); checked together by auth0SettingsSchema in loadConfig.
  AUTH0_DOMAIN: optionalText,
  AUTH0_BASE_URL: optionalText,
  AUTH0_CLIENT_ID: optionalText,
  AUTH0_CLIENT_SECRET: optionalText,
  AUTH0_TOKEN: optionalText,
  /** For crash tests only: an import holds after this chunk until stopped (see EngineContext.faults). */
  FAULT_PAUSE_AFTER_CHUNK: z.preprocess(
    (value) => (typeof value === 'string' && value.trim() === '' ? undefined : value),
    integer(1, 1_000_000, 'a chunk number from 1, or nothing').optional(),
  ),
  /** For tests only: API answers that fail on purpose (503s, hangs) on chosen requests; see domain/api/fault-rules. */
  API_FAULTS: z
    .string()
    .default('')
    .transform((value, ctx): FaultRule[] => {
      const parsed = parseFaultRules(value)
      if (parsed.ok) return parsed.rules
      ctx.addIssue({ code: 'custom', message: parsed.message })
      return z.NEVER
    }),
  /** Requests a second the whole API takes, all callers together (Auth0's tenant-wide limit). */
  API_TENANT_RATE_LIMIT: z.preprocess(
    (value) => (typeof value === 'string' && value.trim() === '' ? undefined : value),
    integer(1, 100_000, 'a whole number of requests per second from 1 to 100000, or nothing').optional(),
  ),
  /** For crash tests only: an import into a tenant holds once its n-th part's Auth0 job id is recorded. */
  FAULT_PAUSE_AFTER_TENANT_PART: z.preprocess(
    (value) => (typeof value === 'string' && value.trim() === '' ? undefined : value),
    integer(1, 1_000_000, 'a part number from 1, or nothing').optional(),
  ),
  MAIL_FROM: z
    .string()
    .regex(/^([^\s@<>]+@[^\s@<>]+|[^<>]*<[^\s@<>]+@[^\s@<>]+>)$/, {
      error: 'expected an address like roster@example.com or "Roster <roster@example.com>"',
    })
    .default('Roster <roster@localhost>'),
})

export type Env = z.input<typeof envSchema>

function isPostgresUrl(value: string): boolean {
  try {
    const url = new URL(value)
    return (url.protocol === 'postgres:' || url.protocol === 'postgresql:') && url.pathname.length > 1
  } catch {
    return false
  }
}

/** Settings whose value may hold a password (`scheme://user:password@host`): quoted without it in errors. */
const urlSettings = new Set(['DATABASE_URL', 'SMTP_URL'])

function shownValue(key: string, value: string | undefined): string {
  if (value === undefined || !urlSettings.has(key)) return JSON.stringify(value ?? '')
  // `user:password@` after `//` (or after a mistyped scheme, `smtp//user:…`), up to the last @ before the path.
  return JSON.stringify(value.replace(/(^|[/:])([^:/@?#]*):[^/?#]*@/, '$1$2:***@'))
}

/**
 * The settings Roster starts with: `.env` in the working directory (where `npm start` runs), then the real
 * environment, which wins. `file` is the `.env` that was read, for the start-up log. Only these two sources exist:
 * the file is optional, and nothing else reads the environment.
 */
export function readEnvironment(
  cwd: string = process.cwd(),
  env: NodeJS.ProcessEnv = process.env,
): { env: Record<string, string | undefined>; file?: string } {
  const file = join(cwd, '.env')
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { env: { ...env } }
    throw new AppError('config_invalid', `Cannot read ${file}: ${(error as Error).message}`)
  }
  // util.parseEnv is the parser behind `node --env-file` (Node 20.12+, which package.json's engines asks for).
  const parseEnv = (util as { parseEnv?: (content: string) => Record<string, string> }).parseEnv
  if (typeof parseEnv !== 'function') {
    throw new AppError(
      'config_invalid',
      `${file} exists, but Node ${process.version} cannot read it: use Node 20.12 or newer, or export its settings in the shell instead.`,
    )
  }
  return { env: { ...parseEnv(text), ...env }, file }
}

export function loadConfig(env: Record<string, string | undefined>) {
  const parsed = envSchema.safeParse(env)
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => {
      const key = String(issue.path[0])
      return `  ${issue.path.join('.')}=${shownValue(key, env[key])}: ${issue.message}`
    })
    throw new AppError('config_invalid', `Invalid configuration:\n${lines.join('\n')}`)
  }
  const e = parsed.data
  const auth0 = auth0Settings(e, env)
  return {
    port: e.PORT,
    storeDir: e.STORE_DIR,
    /** The PostgreSQL store's URL; undefined: the embedded store in `storeDir`. Holds a password: never log it. */
    databaseUrl: e.DATABASE_URL,
    logLevel: e.LOG_LEVEL,
    /** What the tenant is, where set: applied to the store at every start; undefined leaves the store's value. */
    tenant: {
      name: e.TENANT_NAME,
      owners: e.TENANT_OWNERS.length > 0 ? e.TENANT_OWNERS : undefined,
    },
    limits: {
      importMaxBytes: e.IMPORT_MAX_BYTES,
      maxActiveImports: e.MAX_ACTIVE_IMPORTS,
      retentionHours: e.JOB_RETENTION_HOURS,
      /** JOB_LEASE_SECONDS in ms; undefined: the engine's default (30 s). Renewed every third of it. */
      ...(e.JOB_LEASE_SECONDS === undefined ? {} : { leaseMs: e.JOB_LEASE_SECONDS * 1000 }),
    },
    retentionCron: e.RETENTION_CRON,
    /** `cron` undefined: scheduled backups are off (`backup now` still works). */
    backup: { cron: e.BACKUP_CRON === 'off' ? undefined : e.BACKUP_CRON, keep: e.BACKUP_KEEP },
    slack: {
      botToken: e.SLACK_BOT_TOKEN,
      signingSecret: e.SLACK_SIGNING_SECRET,
      appToken: e.SLACK_APP_TOKEN,
      admins: e.SLACK_ADMINS,
      apiUrl: e.SLACK_API_URL,
    },
    mail: { smtpUrl: e.SMTP_URL, from: e.MAIL_FROM },
    /** Crash tests only (FAULT_PAUSE_AFTER_CHUNK): where an import holds so that a kill lands there. */
    faults: {
      pauseAfterChunk: e.FAULT_PAUSE_AFTER_CHUNK,
      pauseAfterTenantPart: e.FAULT_PAUSE_AFTER_TENANT_PART,
    },
    /** Tests only (API_FAULTS): API requests answered 5xx or left hanging, by rule. */
    apiFaults: e.API_FAULTS,
    /** Where export download links and emails point. Unset: http://localhost:<the port Roster listens on>. */
    publicUrl: e.PUBLIC_URL,
    /** Requests a second per API token or client on `/api/v2`; undefined: unlimited, no rate-limit headers. */
    apiRateLimit: e.API_RATE_LIMIT,
    /** Requests a second across all callers (API_TENANT_RATE_LIMIT); undefined: no tenant-wide limit. */
    apiTenantRateLimit: e.API_TENANT_RATE_LIMIT,
    /** The Auth0 tenant that is the directory (AUTH0_DOMAIN set); undefined: the embedded store. */
    auth0,
  }
}

type ParsedEnv = z.output<typeof envSchema>

/**
 * AUTH0_DOMAIN decides the directory. Its companions alone (a client id, a token) are a half-done setup that would
 * otherwise silently leave Roster on its embedded store: refused, naming AUTH0_DOMAIN.
 */
function auth0Settings(e: ParsedEnv, env: Record<string, string | undefined>): Auth0Settings | undefined {
  const input = {
    domain: e.AUTH0_DOMAIN,
    baseUrl: e.AUTH0_BASE_URL,
    clientId: e.AUTH0_CLIENT_ID,
    clientSecret: e.AUTH0_CLIENT_SECRET,
    token: e.AUTH0_TOKEN,
  }
  const given = (Object.keys(input) as (keyof typeof input)[]).filter((key) => input[key] !== undefined)
  if (input.domain === undefined) {
    if (given.length === 0) return undefined
    const names = given.map((key) => auth0SettingNames[key]).join(', ')
    throw new AppError(
      'config_invalid',
      `Invalid configuration:\n  AUTH0_DOMAIN is not set, but ${names} ${given.length === 1 ? 'is' : 'are'}: ` +
        'set AUTH0_DOMAIN to your tenant (like acme.eu.auth0.com) to use it as the directory, or unset them.',
    )
  }
  const parsed = auth0SettingsSchema.safeParse(input)
  if (parsed.success) return parsed.data
  const lines = parsed.error.issues.map((issue) => {
    const key = issue.path[0] as keyof typeof input | undefined
    const name = key === undefined ? 'AUTH0_CLIENT_ID' : auth0SettingNames[key]
    // Secrets are never echoed, whatever is wrong with them.
    const shown =
      name === 'AUTH0_CLIENT_SECRET' || name === 'AUTH0_TOKEN' ? '' : `=${JSON.stringify(env[name] ?? '')}`
    return `  ${name}${shown}: ${issue.message}`
  })
  throw new AppError('config_invalid', `Invalid configuration:\n${lines.join('\n')}`)
}

export type Config = ReturnType<typeof loadConfig>
