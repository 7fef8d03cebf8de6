import { describe, expect, it } from 'vitest'
import { parseNdjsonPart } from '../../src/adapters/import-worker/ndjson-part.ts'
import { parseUsersFile } from '../../src/domain/import/parse-users-file.ts'

/**
 * A `--split` part read from its bytes a line at a time must read exactly what `parseUsersFile` reads from the part's
 * text, and decline (undefined) whatever it does not read so, leaving the answer, or the error, to `parseUsersFile`.
 */

const part = (lines: string[]) => Buffer.from(lines.join('\n'))
const viaText = (bytes: Buffer) =>
  parseUsersFile(new TextDecoder().decode(bytes), 'users.part-01-of-02.ndjson')

describe('parseNdjsonPart', () => {
  it('reads what parseUsersFile reads, users in any script, blank and CRLF lines included', () => {
    const users = [
      { email: 'maria@example.org', given_name: 'Мария', user_metadata: { city: 'Zürich' } },
      { email: 'li@example.org', name: '李小龙 🐉', app_metadata: { roles: ['a', 'b'] } },
      { email: 'plain@example.org', nickname: 'plain', email_verified: true },
      { email: 'sep@example.org', name: 'line\u2028separator "quoted" back\\slash' },
    ]
    const lines = users.map((user) => JSON.stringify(user))
    for (const bytes of [
      part(lines),
      part([...lines, '']),
      part([lines[0] as string, '', '   ', ...lines.slice(1)]),
      Buffer.from(`${lines.join('\r\n')}\r\n`),
    ]) {
      const read = parseNdjsonPart(bytes)
      expect(read).toEqual(viaText(bytes))
      expect(read?.rows).toEqual(users)
    }
  })

  it.each([
    ['a lone user (parseUsersFile looks for a wrapper object)', part(['{"email":"a@example.org"}'])],
    ['a line that is not JSON (parseUsersFile names it)', part(['{"email":"a@example.org"}', '{"email":'])],
    [
      'bytes that are not UTF-8',
      Buffer.concat([part(['{"email":"a@example.org"}', '{"name":"']), Buffer.from([0xff, 0x22, 0x7d])]),
    ],
    ['a byte-order mark', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), part(['{"a":1}', '{"b":2}'])])],
    ['a JSON array', Buffer.from('[{"email":"a@example.org"},\n{"email":"b@example.org"}]')],
    ['gzip', Buffer.from([0x1f, 0x8b, 0x08, 0x00])],
    ['nothing', Buffer.alloc(0)],
  ])('declines %s', (_, bytes) => {
    expect(parseNdjsonPart(bytes)).toBeUndefined()
  })

  it('declines a pretty-printed wrapper, which parseUsersFile refuses with its fix', () => {
    const bytes = Buffer.from('{\n"users": [{"email":"a@example.org"}, {"email":"b@example.org"}]\n}')
    expect(parseNdjsonPart(bytes)).toBeUndefined()
    expect(() => viaText(bytes)).toThrow(/holds one object with a "users" list/)
  })
})
