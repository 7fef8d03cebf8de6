import { describe, expect, it } from 'vitest'
import { findFileDuplicates } from '../../src/domain/import/file-duplicates.ts'

describe('findFileDuplicates', () => {
  it('flags later rows sharing an email (any case), user_id or username with an earlier row', () => {
    const duplicates = findFileDuplicates([
      { email: 'a@example.com', user_id: '1', username: 'ann' },
      { email: 'A@EXAMPLE.COM' },
      { email: 'b@example.com', user_id: '1' },
      { email: 'c@example.com', username: 'Ann' },
      { email: 'd@example.com' },
    ])
    expect([...duplicates.entries()]).toEqual([
      [
        1,
        { code: 'DUPLICATED_USER', path: 'email', message: 'A user with this email was already provided.' },
      ],
      [
        2,
        {
          code: 'DUPLICATED_USER',
          path: 'user_id',
          message: 'A user with this user_id was already provided.',
        },
      ],
      [
        3,
        {
          code: 'DUPLICATED_USER',
          path: 'username',
          message: 'A user with this username was already provided.',
        },
      ],
    ])
  })

  it('does not let a duplicate claim its other keys', () => {
    const duplicates = findFileDuplicates([
      { email: 'a@example.com' },
      { email: 'a@example.com', user_id: '9' },
      { email: 'b@example.com', user_id: '9' },
    ])
    expect([...duplicates.keys()]).toEqual([1])
  })
})
