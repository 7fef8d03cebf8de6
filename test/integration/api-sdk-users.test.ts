import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import type { ManagementClient } from 'auth0'
import bcrypt from 'bcryptjs'
import { afterEach, describe, expect, it } from 'vitest'
import { allScopes, type SdkRoster, startSdkRoster } from '../support/sdk-roster.ts'

/**
 * The users calls of an Auth0 client (issue 12), through the official `auth0` SDK v5 pointed at Roster:
 * PATCH /users/{id}, GET /users/{id} with fields, and GET /users?q= in Auth0's search v3 syntax.
 */

let running: SdkRoster | undefined

async function start(scopes = allScopes): Promise<SdkRoster> {
  running = await startSdkRoster(scopes)
  return running
}

afterEach(async () => {
  await running?.close()
  running = undefined
})

async function search(client: ManagementClient, q: string): Promise<string[]> {
  const page = await client.users.list({ q, search_engine: 'v3', per_page: 50 })
  return page.data.map((user) => user.user_id as string)
}

describe('PATCH /users/{id}', () => {
  async function ada(sdk: SdkRoster): Promise<string> {
    const { client } = sdk
    await sdk.seedUsers([
      {
        email: 'ada@example.com',
        email_verified: false,
        given_name: 'Ada',
        nickname: 'ada',
        user_metadata: { plan: 'free', theme: 'dark' },
        custom_password_hash: {
          algorithm: 'md5',
          hash: { value: '5f4dcc3b5aa765d61d8327deb882cf99', encoding: 'hex' },
        },
      },
      { email: 'grace@example.com', username: 'grace' },
    ])
    const [user] = await client.users.listUsersByEmail({ email: 'ada@example.com' })
    return user?.user_id as string
  }

  it('changes what Auth0 lets a client change on a database user, null unsetting', async () => {
    const sdk = await start()
    const { client } = sdk
    const id = await ada(sdk)
    const updated = await client.users.update(id, {
      email_verified: true,
      given_name: 'Augusta',
      family_name: 'King',
      name: 'Augusta Ada King',
      nickname: null,
      picture: 'https://example.com/ada.png',
      phone_number: '+441234567890',
      phone_verified: true,
      blocked: true,
      user_metadata: { plan: 'gold', theme: null },
      app_metadata: { tier: 2 },
      connection: 'Username-Password-Authentication',
    })
    // Auth0 refuses username and email_verified in one request: the username changes on its own.
    expect(updated).toMatchObject({ given_name: 'Augusta' })
    const renamed = await client.users.update(id, { username: 'Countess' })
    const expected = {
      user_id: id,
      email_verified: true,
      given_name: 'Augusta',
      family_name: 'King',
      name: 'Augusta Ada King',
      picture: 'https://example.com/ada.png',
      phone_number: '+441234567890',
      phone_verified: true,
      username: 'countess',
      blocked: true,
      user_metadata: { plan: 'gold' },
      app_metadata: { tier: 2 },
    }
    expect(renamed).toMatchObject(expected)
    expect(renamed).not.toHaveProperty('nickname')
    expect(await client.users.get(id)).toMatchObject(expected)
    // The username index follows: the new name finds the user, a name given up is free again.
    const { users } = sdk.roster.engine.ctx
    expect((await users.findByUsername(sdk.mainConnection, 'countess'))?.user_id).toBe(id)
    await client.users.update(id, { username: 'augusta' })
    expect(await users.findByUsername(sdk.mainConnection, 'countess')).toBeUndefined()
    expect(await search(client, 'username:augusta')).toEqual([id])
  })

  it('stores a new password as a bcrypt hash, never in clear, replacing the imported custom hash', async () => {
    const sdk = await start()
    const { client } = sdk
    const id = await ada(sdk)
    const password = 'correct horse battery staple 42'
    const updated = await client.users.update(id, {
      password,
      connection: 'Username-Password-Authentication',
    })
    expect(updated).not.toHaveProperty('password')
    expect(updated).not.toHaveProperty('password_hash')
    const stored = await sdk.roster.engine.ctx.users.getById(id)
    expect(stored?.password_hash).toMatch(/^\$2[ab]\$10\$[./A-Za-z0-9]{53}$/)
    expect(await bcrypt.compare(password, stored?.password_hash as string)).toBe(true)
    expect(stored).not.toHaveProperty('custom_password_hash')
    // Every commit is durable once the answer is sent: what is on disk now is all the store holds.
    expect(await grepStore(sdk.storeDir, password)).toEqual([])
  })

  it("refuses bad values with Auth0's 400 bodies", async () => {
    const sdk = await start()
    const { client } = sdk
    const id = await ada(sdk)
    const refusal = (message: string | RegExp) => ({
      statusCode: 400,
      body: {
        statusCode: 400,
        error: 'Bad Request',
        message: typeof message === 'string' ? message : expect.stringMatching(message),
        errorCode: 'invalid_body',
      },
    })
    const cases: [Record<string, unknown>, string | RegExp][] = [
      [
        { given_name: 'x'.repeat(151) },
        "Payload validation error: 'String is too long (151 chars), maximum 150' on property given_name (Given name/first name/forename of this user).",
      ],
      [
        { name: '' },
        "Payload validation error: 'String is too short (0 chars), minimum 1' on property name (Name of this user).",
      ],
      [
        { phone_number: '12345' },
        "Payload validation error: 'String does not match pattern ^\\+[0-9]{1,15}$' on property phone_number (The user's phone number (following the E.164 recommendation)).",
      ],
      [
        { picture: 'not a url' },
        "Payload validation error: 'Object didn't pass validation for format strict-uri: not a url' on property picture (URL to picture, photo, or avatar of this user).",
      ],
      [{ username: 'countess', password: 'secret-1' }, 'Cannot update username and password simultaneously.'],
      [
        { password: 'secret-1', email_verified: true },
        'Cannot update password and email_verified simultaneously.',
      ],
      [
        { logins_count: 3 },
        /^Payload validation error: 'Additional properties not allowed: logins_count \(consider/,
      ],
      [
        { username: 'a-very-long-username' },
        /'String is too long \(20 chars\), maximum 15' on property username/,
      ],
      [
        { verify_email: true },
        /^Roster sends no verification messages: leave verify_email out, or set it to false\.$/,
      ],
      [{ email: 'new@example.com' }, /^Roster's PATCH \/users does not change email/],
      [
        { blocked: true, connection: 'partners' },
        /is in the connection Username-Password-Authentication, not partners/,
      ],
    ]
    for (const [body, message] of cases) {
      await expect(client.users.update(id, body), JSON.stringify(body)).rejects.toMatchObject(
        refusal(message),
      )
    }
    expect((await sdk.roster.engine.ctx.users.getById(id))?.given_name).toBe('Ada')
  })

  it('answers 409 when the new username belongs to another user of the connection', async () => {
    const sdk = await start()
    const { client } = sdk
    const id = await ada(sdk)
    await expect(client.users.update(id, { username: 'Grace' })).rejects.toMatchObject({
      statusCode: 409,
      body: { statusCode: 409, error: 'Conflict', message: 'The specified new username already exists' },
    })
  })

  it('needs update:users', async () => {
    const sdk = await start(['read:users'])
    const { client } = sdk
    const id = await ada(sdk)
    await expect(client.users.update(id, { blocked: true })).rejects.toMatchObject({ statusCode: 403 })
  })
})

describe('GET /users/{id} with fields', () => {
  it('returns only the fields named, or all but them with include_fields=false', async () => {
    const sdk = await start()
    const { client } = sdk
    await sdk.seedUsers([{ email: 'ada@example.com', given_name: 'Ada', user_metadata: { plan: 'gold' } }])
    const id = (await sdk.roster.engine.findUsers('ada@example.com'))[0]?.user_id as string
    expect(await client.users.get(id, { fields: 'email,given_name' })).toEqual({
      email: 'ada@example.com',
      given_name: 'Ada',
    })
    const without = await client.users.get(id, { fields: 'user_metadata,identities', include_fields: false })
    expect(without).toMatchObject({ email: 'ada@example.com', given_name: 'Ada', user_id: id })
    expect(without).not.toHaveProperty('user_metadata')
    expect(without).not.toHaveProperty('identities')
  })
})

describe('GET /users?q= with Auth0 search v3 syntax', () => {
  async function seedPeople(sdk: SdkRoster): Promise<void> {
    await sdk.seedUsers([
      {
        email: 'ada@example.com',
        name: 'Ada Lovelace',
        user_metadata: { plan: 'gold' },
        app_metadata: { seats: 5 },
      },
      { email: 'grace@navy.mil', name: 'Grace Hopper', blocked: true, user_metadata: { plan: 'silver' } },
      {
        email: 'edsger@example.com',
        name: 'Edsger Dijkstra',
        email_verified: false,
        app_metadata: { seats: 12 },
      },
    ])
  }

  async function emails(client: ManagementClient, q: string): Promise<string[]> {
    const page = await client.users.list({ q, search_engine: 'v3', per_page: 50 })
    return page.data.map((user) => user.email as string).sort()
  }

  it('answers fields, phrases, wildcards, operators, ranges, _exists_ and metadata paths', async () => {
    const sdk = await start()
    const { client } = sdk
    await seedPeople(sdk)
    expect(await emails(client, 'user_metadata.plan:"gold"')).toEqual(['ada@example.com'])
    expect(await emails(client, 'name:"grace hopper"')).toEqual(['grace@navy.mil'])
    expect(await emails(client, 'email:*@example.com AND NOT name:ada')).toEqual(['edsger@example.com'])
    expect(await emails(client, 'name:(ada OR grace)')).toEqual(['ada@example.com', 'grace@navy.mil'])
    expect(await emails(client, 'app_metadata.seats:[6 TO *]')).toEqual(['edsger@example.com'])
    expect(await emails(client, 'created_at:[2024-01-01 TO *]')).toHaveLength(3)
    expect(await emails(client, 'logins_count:[1 TO 5]')).toEqual([])
    expect(await emails(client, '_exists_:user_metadata.plan AND blocked:true')).toEqual(['grace@navy.mil'])
    expect(await emails(client, 'email:"ADA@example.com" AND user_metadata.plan:"gold"')).toEqual([
      'ada@example.com',
    ])
  })

  it("answers Auth0's 400 for what it refuses", async () => {
    const sdk = await start()
    const { client } = sdk
    for (const [q, message] of [
      ['name:*ab', /a value that starts with \* needs at least 3 other characters/],
      ['user_metadata.plan:go*', /wildcards are not available on user_metadata fields/],
      ['user_metadata.plan:[a TO z]', /ranges are not available on user_metadata fields/],
      ['user_email:"a@example.com"', /unknown field "user_email"/],
    ] as const) {
      await expect(client.users.list({ q, search_engine: 'v3' }), q).rejects.toMatchObject({
        statusCode: 400,
        body: {
          statusCode: 400,
          error: 'Bad Request',
          message: expect.stringMatching(message),
          errorCode: 'invalid_query_string',
        },
      })
    }
    await expect(client.users.list({ q: 'name:ada', search_engine: 'v2' })).rejects.toMatchObject({
      body: { message: 'You are not allowed to use search_engine=v2. Use search_engine=v3 instead.' },
    })
  })
})

/**
 * Files under `dir` whose bytes contain `text`. A write under way may rename its temporary file away mid-walk (its
 * bytes then land in a file the walk may have read already): the walk starts again until no file vanished.
 */
async function grepStore(dir: string, text: string): Promise<string[]> {
  for (let attempt = 1; ; attempt++) {
    const found: string[] = []
    let vanished = false
    for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
      if (!entry.isFile()) continue
      const path = join(entry.parentPath, entry.name)
      const bytes = await readFile(path).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'ENOENT' || attempt === 5) throw error
        return undefined
      })
      if (bytes === undefined) {
        vanished = true
        continue
      }
      const plain = path.endsWith('.gz') ? gunzipSync(bytes) : bytes
      if (plain.includes(text)) found.push(path)
    }
    if (!vanished) return found
  }
}
