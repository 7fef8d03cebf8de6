import { describe, expect, it } from 'vitest'
import { commitWithReplans, maxReplans } from '../../src/engine/commit-with-replans.ts'
import { AppError } from '../../src/errors.ts'

const conflict = (n: number) => new AppError('store_conflict', `users changed (${n})`, { userIds: [`u${n}`] })

describe('commitWithReplans', () => {
  it('plans again after each refusal, and returns the first commit that goes through', async () => {
    const replans: number[] = []
    const result = await commitWithReplans(
      async (n) => {
        if (n < 3) throw conflict(n)
        return `committed at ${n}`
      },
      { onReplan: (_error, attempt) => replans.push(attempt) },
    )
    expect(result).toBe('committed at 3')
    expect(replans).toEqual([1, 2])
  })

  it(`fails after ${maxReplans} refusals with the caller's error, naming the last refusal's users`, async () => {
    let attempts = 0
    const failure = commitWithReplans(
      async (n) => {
        attempts++
        throw conflict(n)
      },
      {
        exhausted: (last, n) =>
          new AppError('store_conflict', `Rows 1 to 10 were planned ${n} times`, last.details),
      },
    )
    await expect(failure).rejects.toMatchObject({
      code: 'store_conflict',
      message: 'Rows 1 to 10 were planned 5 times',
      details: { userIds: ['u5'] },
    })
    expect(attempts).toBe(maxReplans)
    // Without an `exhausted`, the last refusal itself.
    await expect(commitWithReplans(async (n) => Promise.reject(conflict(n)))).rejects.toThrow(
      'users changed (5)',
    )
  })

  it('passes any other error on at once', async () => {
    let attempts = 0
    const failure = commitWithReplans(async () => {
      attempts++
      throw new AppError('not_found', 'The user does not exist.')
    })
    await expect(failure).rejects.toMatchObject({ code: 'not_found' })
    expect(attempts).toBe(1)
  })
})
