import { beforeEach, expect, it } from 'vitest'
import type { ReplayKeys } from '../../src/adapters/slack/replay-guard.ts'
import { poll } from '../support/roster-process.ts'

/** Replay keys with a window of `windowMs`, and (shared) another replica's handle on them. */
export interface ReplayKeysLocation {
  keys: ReplayKeys
  /** Shared: another replica's keys. */
  other?: ReplayKeys
}

/** What every replay guard store does. `open(windowMs)` gives keys that have seen nothing. */
export function replayKeysContract(open: (windowMs: number) => Promise<ReplayKeysLocation>): void {
  let location: ReplayKeysLocation
  beforeEach(async () => {
    location = await open(60_000)
  })

  it('says "first time" once per key, and not for a replay', async () => {
    expect(await location.keys.firstTime('event:Ev1')).toBe(true)
    expect(await location.keys.firstTime('event:Ev1')).toBe(false)
    expect(await location.keys.firstTime('trigger:T1')).toBe(true)
  })

  it('takes a key as new again once it is older than the window', async () => {
    const short = await open(150)
    expect(await short.keys.firstTime('event:Ev1')).toBe(true)
    await poll('the key past the window', async () =>
      (await short.keys.firstTime('event:Ev1')) ? true : undefined,
    )
  })

  it('refuses on one replica a key seen on another, and lets exactly one of many at once through', async (context) => {
    const { other } = location
    if (!other) return context.skip()
    expect(await location.keys.firstTime('event:Ev1')).toBe(true)
    expect(await other.firstTime('event:Ev1')).toBe(false)
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) => (i % 2 ? other : location.keys).firstTime('trigger:T2')),
    )
    expect(results.filter(Boolean)).toHaveLength(1)
  })
}
