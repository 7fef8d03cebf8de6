import type { Args } from './types.ts'

/**
 * Looks through everything Roster sent Slack for text Slack would act on: every string anywhere in the calls'
 * arguments (text, blocks, view, metadata, values, JSON-in-a-string included). A `<…>` is live mrkdwn: only the
 * mentions of people Roster meant (`allowedUsers`) and its `<!date^…>` stamps may appear; never `<!channel>`,
 * `<!here>`, `<!everyone>`, `<!subteam^…>`, a link, or anyone else's mention. And no lone surrogate (half an emoji).
 */
export interface Finding {
  method: string
  path: string
  problem: string
  excerpt: string
}

const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/

export function liveMarkupFindings(
  calls: readonly { method: string; args: Args }[],
  allowedUsers: readonly string[],
): Finding[] {
  const findings: Finding[] = []
  const visit = (method: string, path: string, value: unknown) => {
    if (typeof value === 'string') {
      for (const problem of problemsIn(value, allowedUsers)) {
        const at = Math.max(0, value.indexOf(problem.token) - 20)
        findings.push({ method, path, problem: problem.why, excerpt: value.slice(at, at + 80) })
      }
      return
    }
    if (Array.isArray(value)) {
      for (const [i, item] of value.entries()) visit(method, `${path}[${i}]`, item)
    } else if (value && typeof value === 'object')
      for (const [key, item] of Object.entries(value)) visit(method, `${path}.${key}`, item)
  }
  for (const call of calls) visit(call.method, 'args', call.args)
  return findings
}

function problemsIn(text: string, allowedUsers: readonly string[]): { token: string; why: string }[] {
  const problems: { token: string; why: string }[] = []
  if (loneSurrogate.test(text)) problems.push({ token: '', why: 'lone surrogate' })
  for (const match of text.matchAll(/<([^<>]*)>/g)) {
    const inner = match[1] ?? ''
    const mention = /^@([UW][A-Z0-9]+)(\|[^>]*)?$/.exec(inner)?.[1]
    if (mention && allowedUsers.includes(mention)) continue
    if (inner.startsWith('!date^')) continue
    problems.push({ token: match[0], why: `live markup ${match[0]}` })
  }
  return problems
}
