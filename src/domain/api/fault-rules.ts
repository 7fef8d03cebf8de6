/**
 * API_FAULTS, for tests only: rules that make Roster's API misbehave the way a real Auth0 tenant sometimes does, so
 * a Roster in front of a Roster stand-in can be shown to survive it. Deterministic — which requests fail is decided
 * by counting, never by chance — so a test that sees a fault once sees it every run.
 *
 * A setting is rules separated by `;`, each `<answer> <METHOD> <path> <when>`:
 * - answer: a 5xx status (`503`: Auth0's error body, the request not carried out), `503-after` (carried out, then
 *   answered 503: a gateway timing out after the upstream acted — a client cannot know whether it took effect), or
 *   `hang` / `hang=<seconds>` (no answer at all; the connection is held that long, default 70 s, past the SDK's 60);
 * - METHOD: GET, POST, PATCH, DELETE or `*`;
 * - path: `/api/v2/…` or `/oauth/token`, `*` standing for one path segment (`/api/v2/jobs/*`);
 * - when: `every N` (the Nth, 2Nth… matching request), `next N` (the first N), `nth N` (the Nth only).
 * Example: `503 GET /api/v2/users-by-email every 3; hang GET /api/v2/jobs/* nth 2`.
 */

export const faultMethods = ['GET', 'POST', 'PATCH', 'DELETE', '*'] as const
export type FaultMethod = (typeof faultMethods)[number]

export type FaultAnswer =
  | { kind: 'status'; status: number; after: boolean }
  | { kind: 'hang'; holdMs: number }

export type FaultSchedule = { kind: 'every' | 'next' | 'nth'; n: number }

export interface FaultRule {
  /** The rule as written, for logs and messages. */
  text: string
  answer: FaultAnswer
  method: FaultMethod
  /** Path segments; `*` matches any one. */
  segments: string[]
  schedule: FaultSchedule
}

/** The SDK's per-request timeout is 60 s: a default hang outlives it. */
export const defaultHangMs = 70_000

export type ParsedFaults = { ok: true; rules: FaultRule[] } | { ok: false; message: string }

export function parseFaultRules(setting: string): ParsedFaults {
  const rules: FaultRule[] = []
  for (const text of setting
    .split(';')
    .map((part) => part.trim())
    .filter(Boolean)) {
    const rule = parseRule(text)
    if (typeof rule === 'string') return { ok: false, message: `"${text}": ${rule}` }
    rules.push(rule)
  }
  return { ok: true, rules }
}

function parseRule(text: string): FaultRule | string {
  const words = text.split(/\s+/)
  if (words.length !== 5) {
    return 'expected "<answer> <METHOD> <path> every|next|nth <N>", like "503 GET /api/v2/users-by-email every 3"'
  }
  const [answerWord, methodWord, path, whenWord, countWord] = words as [
    string,
    string,
    string,
    string,
    string,
  ]
  const answer = parseAnswer(answerWord)
  if (typeof answer === 'string') return answer
  const method = methodWord.toUpperCase()
  if (!(faultMethods as readonly string[]).includes(method)) {
    return `the method must be one of ${faultMethods.join(', ')}`
  }
  if (!path.startsWith('/')) return 'the path must start with /, like /api/v2/jobs/*'
  if (whenWord !== 'every' && whenWord !== 'next' && whenWord !== 'nth') {
    return 'say when with every N, next N or nth N'
  }
  if (!/^[1-9]\d{0,6}$/.test(countWord)) return `expected a whole number from 1 after "${whenWord}"`
  return {
    text,
    answer,
    method: method as FaultMethod,
    segments: segmentsOf(path),
    schedule: { kind: whenWord, n: Number(countWord) },
  }
}

function parseAnswer(word: string): FaultAnswer | string {
  const hang = /^hang(?:=(\d{1,4}))?$/.exec(word)
  if (hang) return { kind: 'hang', holdMs: hang[1] === undefined ? defaultHangMs : Number(hang[1]) * 1000 }
  const status = /^(5\d\d)(-after)?$/.exec(word)
  if (status) return { kind: 'status', status: Number(status[1]), after: status[2] !== undefined }
  return 'the answer must be a 5xx status (503), 503-after, hang or hang=<seconds>'
}

function segmentsOf(path: string): string[] {
  return path.split('/').filter((segment) => segment !== '')
}

export function ruleMatches(rule: FaultRule, method: string, path: string): boolean {
  if (rule.method !== '*' && rule.method !== method.toUpperCase()) return false
  const segments = segmentsOf(path)
  return (
    segments.length === rule.segments.length &&
    rule.segments.every((want, index) => want === '*' || want === segments[index])
  )
}

/** Whether the `count`th matching request (1-based) gets the fault. */
export function scheduleFires(schedule: FaultSchedule, count: number): boolean {
  if (schedule.kind === 'every') return count % schedule.n === 0
  if (schedule.kind === 'next') return count <= schedule.n
  return count === schedule.n
}

/**
 * The fault for one request, given how many requests each rule has matched so far (`counts`, one per rule,
 * updated: every matching rule counts the request, so each rule's schedule reads the same whatever the others do).
 * The first rule that fires answers.
 */
export function faultFor(
  rules: readonly FaultRule[],
  counts: number[],
  method: string,
  path: string,
): FaultRule | undefined {
  let fired: FaultRule | undefined
  rules.forEach((rule, index) => {
    if (!ruleMatches(rule, method, path)) return
    const count = (counts[index] ?? 0) + 1
    counts[index] = count
    if (fired === undefined && scheduleFires(rule.schedule, count)) fired = rule
  })
  return fired
}
