/**
 * Field paths as Auth0's export API names them: `email`, `user_metadata.consent.given`, `identities[0].connection`.
 */
export type PathSegment = string | number

export function parsePath(path: string): PathSegment[] | null {
  const segments: PathSegment[] = []
  const pattern = /([^.[\]]+)|\[(\d+)\]/g
  let consumed = 0
  for (const match of path.matchAll(pattern)) {
    const separator = path.slice(consumed, match.index)
    // A name follows a dot (except the first), an index follows directly: `.email` and `a[0]b` are malformed.
    if (separator !== (consumed === 0 || match[1] === undefined ? '' : '.')) return null
    segments.push(match[1] ?? Number(match[2]))
    consumed = (match.index ?? 0) + match[0].length
  }
  return consumed === path.length && segments.length > 0 && typeof segments[0] === 'string' ? segments : null
}

export function getPath(value: unknown, segments: readonly PathSegment[]): unknown {
  let current = value
  for (const segment of segments) {
    if (current === null || typeof current !== 'object') return undefined
    // Own keys only: a field named `user_metadata.constructor` or `….toString` is the user's, never a built-in.
    if (!Object.hasOwn(current, segment)) return undefined
    current = (current as Record<string | number, unknown>)[segment]
  }
  return current
}
