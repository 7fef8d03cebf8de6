/** Exit codes: scripts tell outcomes apart without parsing output. */
export const exitCodes = {
  ok: 0,
  /** The job failed, or the request was refused (bad file, unknown connection, not found…). */
  failed: 1,
  usage: 2,
  /** The store could not be opened or reached. */
  storeUnavailable: 3,
  /** The import completed, but some users failed: see `roster job errors <id>`. */
  someUsersFailed: 4,
} as const

/** The help text; README's CLI table lists the same commands (a test keeps them in step). */
export const usage = `Usage: roster <command> [options]   (npm run cli -- <command>)

  import <file> --connection <name|id> [--upsert] [--merge] [--dry-run]
         [--external-id X] [--send-completion-email] [--split] [--wait]
  export --connection <name|id> | --all-connections [--format json|ndjson|csv] [--default-fields]
         [--field path[=Label] …] [--sample] [--limit N] [--gzip] [--out FILE] [--wait]
  job <job_id> [--wait]             a job, as GET /api/v2/jobs/{id} (--wait: until it finishes)
  job errors <job_id>               its error report, as GET /api/v2/jobs/{id}/errors
  jobs [--limit N]                  recent jobs, newest first
  undo <job_id> [--wait]            revert an import (users changed since are left alone)
  connections                       list connections
  connections add <name> [--strategy auth0|custom-db|google-oauth2…] [--import-mode] [--disabled] [--username-max N]
  users count [--connection X]
  users get <email|user_id> [--connection X]
  users block <email|user_id> [--connection X]     block a user (unblock: users unblock …)
  tokens create --name <name> --scopes create:users,read:users,…   an API token, printed once
  tokens list | tokens revoke <id|name>
  clients create --name <name> --scopes read:users,delete:users,… [--token-lifetime SECONDS]
                                    an API client (client-credentials grant at /oauth/token); secret printed once
  clients list | clients revoke <client_id|name>
  backups                           backup sets, newest first: users and file per connection
  backup now                        take a backup now and wait for it (as BACKUP_CRON does)
  tenant                            the tenant's name and owners (who gets completion emails)
  tenant owners add|remove <email> …   change the owners (TENANT_OWNERS, when set, replaces them at start)
  db migrate                        apply the PostgreSQL store's schema (DATABASE_URL); says what it applied
  store copy --from <STORE_DIR|postgres://…> --to <STORE_DIR|postgres://…>
         copy a whole store (users, jobs, files, tokens, access, audit, backups) into an empty one

  --split imports a file larger than IMPORT_MAX_BYTES (gzipped or not) as consecutive NDJSON parts, one job
          each, and waits for them all. Duplicates within the file are then detected within a part only.
  --json prints Auth0's shapes. Files: JSON array, NDJSON or CSV. Exit codes: 0 ok, 1 failed or refused,
  2 bad usage, 3 store unavailable, 4 import completed with failed users.
  roster <command> --help shows one command's usage.`

/** Each command and the options it takes (every command also takes --json and --help). */
export const commandOptions: Readonly<Record<string, readonly string[]>> = {
  import: [
    'connection',
    'upsert',
    'merge',
    'dry-run',
    'external-id',
    'send-completion-email',
    'split',
    'wait',
  ],
  export: [
    'connection',
    'all-connections',
    'format',
    'default-fields',
    'field',
    'sample',
    'limit',
    'gzip',
    'out',
    'wait',
  ],
  job: ['wait'],
  jobs: ['limit'],
  undo: ['wait'],
  connections: ['strategy', 'import-mode', 'disabled', 'username-max'],
  users: ['connection'],
  tokens: ['name', 'scopes'],
  clients: ['name', 'scopes', 'token-lifetime'],
  backups: [],
  backup: [],
  tenant: [],
  db: [],
  store: ['from', 'to'],
}

/** The words that may follow a command (`users get`). */
export const subcommands: Readonly<Record<string, readonly string[]>> = {
  job: ['errors'],
  connections: ['add'],
  users: ['count', 'get', 'block', 'unblock'],
  tokens: ['create', 'list', 'revoke'],
  clients: ['create', 'list', 'revoke'],
  backup: ['now'],
  tenant: ['owners'],
  db: ['migrate'],
  store: ['copy'],
}

export const commandNames = Object.keys(commandOptions)

/**
 * The usage lines of one command (`users` → its three lines, with their continuations), as `roster <command>
 * --help` prints them and a usage error quotes them: the one relevant line, not the whole help.
 */
export function usageFor(verb: string): string {
  const lines = usage.split('\n')
  const picked: string[] = []
  let taking = false
  for (const line of lines) {
    const continuation = /^ {9}/.test(line)
    if (/^ {2}[a-z]/.test(line)) taking = line.slice(2).split(' ', 1)[0] === verb
    else if (!continuation) taking = false
    // "roster " is 7 characters more than the help's two-space indent: continuations move right with it.
    if (taking) picked.push(continuation ? `       ${line}` : `  roster ${line.slice(2)}`)
  }
  return picked.length === 0 ? usage : `Usage:\n${picked.join('\n')}`
}
