import { describe, expect, it } from 'vitest'
import { loadConfig } from '../../src/config.ts'
import { defaultHangMs, faultFor, parseFaultRules } from '../../src/domain/api/fault-rules.ts'

function rules(setting: string) {
  const parsed = parseFaultRules(setting)
  if (!parsed.ok) throw new Error(parsed.message)
  return parsed.rules
}

/** Which of `n` requests `method path` the rules answer with a fault (1-based), and with which rule. */
function faulted(setting: string, method: string, path: string, n: number): number[] {
  const parsed = rules(setting)
  const counts: number[] = []
  return Array.from({ length: n }, (_, i) => i + 1).filter(() => faultFor(parsed, counts, method, path))
}

describe('API_FAULTS rules', () => {
  it('reads answers, methods, paths and schedules', () => {
    expect(rules('503 GET /api/v2/users-by-email every 3; hang=2 post /api/v2/jobs/* nth 1')).toEqual([
      {
        text: '503 GET /api/v2/users-by-email every 3',
        answer: { kind: 'status', status: 503, after: false },
        method: 'GET',
        segments: ['api', 'v2', 'users-by-email'],
        schedule: { kind: 'every', n: 3 },
      },
      {
        text: 'hang=2 post /api/v2/jobs/* nth 1',
        answer: { kind: 'hang', holdMs: 2000 },
        method: 'POST',
        segments: ['api', 'v2', 'jobs', '*'],
        schedule: { kind: 'nth', n: 1 },
      },
    ])
    expect(rules('hang * /oauth/token next 1')[0]?.answer).toEqual({ kind: 'hang', holdMs: defaultHangMs })
    expect(rules('502-after POST /api/v2/jobs/users-imports next 1')[0]?.answer).toEqual({
      kind: 'status',
      status: 502,
      after: true,
    })
    expect(rules('')).toEqual([])
  })

  it('fails every Nth, the next N or the Nth only, counting matching requests alone', () => {
    expect(faulted('503 GET /api/v2/jobs/* every 3', 'GET', '/api/v2/jobs/job_1', 9)).toEqual([3, 6, 9])
    expect(faulted('503 GET /api/v2/jobs/* next 2', 'GET', '/api/v2/jobs/job_1', 5)).toEqual([1, 2])
    expect(faulted('503 GET /api/v2/jobs/* nth 4', 'GET', '/api/v2/jobs/job_1', 9)).toEqual([4])
    expect(faulted('503 GET /api/v2/jobs/* every 1', 'POST', '/api/v2/jobs/job_1', 3)).toEqual([])
    expect(faulted('503 GET /api/v2/jobs/* every 1', 'GET', '/api/v2/jobs/job_1/errors', 3)).toEqual([])
    expect(faulted('503 * /api/v2/jobs/*/errors every 1', 'GET', '/api/v2/jobs/job_1/errors', 2)).toEqual([
      1, 2,
    ])
  })

  it('counts a request for every rule it matches, the first rule that fires answering', () => {
    const parsed = rules('503 GET /api/v2/users-by-email nth 2; 500 * /api/v2/users-by-email every 2')
    const counts: number[] = []
    const answers = [1, 2, 3, 4].map(() => faultFor(parsed, counts, 'GET', '/api/v2/users-by-email')?.answer)
    expect(answers).toEqual([
      undefined,
      { kind: 'status', status: 503, after: false },
      undefined,
      { kind: 'status', status: 500, after: false },
    ])
  })

  it('refuses a malformed rule, naming it and what to write', () => {
    for (const [setting, says] of [
      ['503 GET /api/v2/users every', 'expected "<answer> <METHOD> <path>'],
      ['404 GET /api/v2/users every 1', 'a 5xx status'],
      ['503 PUT /api/v2/users every 1', 'the method must be one of'],
      ['503 GET api/v2/users every 1', 'must start with /'],
      ['503 GET /api/v2/users sometimes 1', 'every N, next N or nth N'],
      ['503 GET /api/v2/users every 0', 'a whole number from 1'],
    ] as const) {
      const parsed = parseFaultRules(setting)
      expect(parsed.ok).toBe(false)
      if (!parsed.ok) expect(parsed.message).toContain(says)
    }
  })

  it('stops Roster at start on a bad API_FAULTS, naming the setting', () => {
    expect(() => loadConfig({ API_FAULTS: '503 GET /x always 1' })).toThrow(/API_FAULTS=.*every N/)
    expect(loadConfig({}).apiFaults).toEqual([])
    expect(loadConfig({ API_TENANT_RATE_LIMIT: '5' }).apiTenantRateLimit).toBe(5)
  })
})
