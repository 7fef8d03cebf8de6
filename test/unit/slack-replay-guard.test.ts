import { describe, expect, it } from 'vitest'
import { RecentKeys, replayWindowMs, requestKey } from '../../src/adapters/slack/replay-guard.ts'

describe('requestKey', () => {
  it('keys events by event_id, commands and shortcuts by trigger_id, and leaves other requests alone', () => {
    expect(requestKey({ type: 'event_callback', event_id: 'Ev1', event: {} })).toBe('event:Ev1')
    expect(requestKey({ command: '/export', trigger_id: 'T1' })).toBe('trigger:T1')
    expect(requestKey({ type: 'shortcut', trigger_id: 'T2' })).toBe('trigger:T2')
    expect(requestKey({ type: 'message_action', trigger_id: 'T3' })).toBe('trigger:T3')
    expect(requestKey({ type: 'block_actions', trigger_id: 'T4' })).toBeUndefined()
    expect(requestKey({ command: '/jobs' })).toBeUndefined()
    expect(requestKey('text')).toBeUndefined()
  })
})

describe('RecentKeys', () => {
  it("refuses a key seen within Slack's 5-minute window and forgets it after", () => {
    let now = 0
    const recent = new RecentKeys({ windowMs: replayWindowMs, limit: 100, now: () => now })
    expect(recent.firstTime('a')).toBe(true)
    now = replayWindowMs - 1
    expect(recent.firstTime('a')).toBe(false)
    now = replayWindowMs
    expect(recent.firstTime('a')).toBe(true)
  })

  it('holds at most its limit of keys, forgetting the oldest first', () => {
    const recent = new RecentKeys({ windowMs: replayWindowMs, limit: 3, now: () => 0 })
    for (const key of ['a', 'b', 'c', 'd']) expect(recent.firstTime(key)).toBe(true)
    expect(recent.size).toBe(3)
    expect(recent.firstTime('d')).toBe(false)
    expect(recent.firstTime('a')).toBe(true)
  })
})
