import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { RosterProcesses, ServerProcess } from './roster-process.ts'

/**
 * A Roster process standing in for an Auth0 tenant (issue 13), and the AUTH0_* settings that point another Roster
 * (or an Auth0Client) at it: a client made by `roster clients create`, reached over http on loopback.
 */
export const allAuth0Scopes = 'read:connections,read:users,create:users,update:users,delete:users'

export interface TenantRoster {
  storeDir: string
  server: ServerProcess
  /** `127.0.0.1:<port>`: AUTH0_DOMAIN. */
  domain: string
  /** `http://127.0.0.1:<port>`: AUTH0_BASE_URL. */
  baseUrl: string
  /** Removes its store (after the process is killed). */
  remove(): Promise<void>
}

export interface TenantClient {
  client_id: string
  client_secret: string
}

export async function startTenantRoster(
  processes: RosterProcesses,
  env: Record<string, string> = {},
): Promise<TenantRoster> {
  const storeDir = await mkdtemp(join(tmpdir(), 'roster-tenant-'))
  const server = await processes.startServer(storeDir, { env })
  const domain = `127.0.0.1:${server.port}`
  return {
    storeDir,
    server,
    domain,
    baseUrl: `http://${domain}`,
    remove: () => rm(storeDir, { recursive: true, force: true }),
  }
}

export function createTenantClient(
  processes: RosterProcesses,
  tenant: TenantRoster,
  name: string,
  scopes = allAuth0Scopes,
): Promise<TenantClient> {
  return processes.cliJson<TenantClient>(tenant.storeDir, [
    'clients',
    'create',
    '--name',
    name,
    '--scopes',
    scopes,
  ])
}

/** The environment of a Roster in front of `tenant`, as a person would set it. */
export function auth0Env(tenant: TenantRoster, client: TenantClient): Record<string, string> {
  return {
    AUTH0_DOMAIN: tenant.domain,
    AUTH0_BASE_URL: tenant.baseUrl,
    AUTH0_CLIENT_ID: client.client_id,
    AUTH0_CLIENT_SECRET: client.client_secret,
  }
}
