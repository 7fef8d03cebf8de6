/**
 * Finds where JSON text first goes wrong, as a character offset. Node 20's JSON.parse often says only
 * "Unexpected token" with a snippet; a person fixing a 500 KB file needs a line and column. Only runs after
 * JSON.parse has failed, so it favours being short over being fast.
 */
export function jsonErrorOffset(text: string): number {
  let i = 0
  const ws = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i] as string)) i++
  }
  const fail = (): never => {
    throw i
  }
  const literal = (word: string) => {
    if (text.startsWith(word, i)) i += word.length
    else fail()
  }
  const string = () => {
    i++ // opening quote
    while (i < text.length) {
      const c = text[i] as string
      if (c === '"') {
        i++
        return
      }
      if (c === '\\') {
        const next = text[i + 1] ?? ''
        if (
          next === 'u'
            ? !/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))
            : !'"\\/bfnrt'.includes(next) || next === ''
        ) {
          i++
          fail()
        }
        i += next === 'u' ? 6 : 2
      } else if (c < ' ') {
        fail()
      } else i++
    }
    fail()
  }
  const number = () => {
    const match = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 400))
    if (!match || match[0] === '') fail()
    i += (match as RegExpExecArray)[0].length
  }
  const member = () => {
    ws()
    if (text[i] !== '"') fail()
    string()
    ws()
    if (text[i] !== ':') fail()
    i++
    value()
  }
  const value = (): void => {
    ws()
    const c = text[i]
    if (c === '{') members('}', member)
    else if (c === '[') members(']', value)
    else if (c === '"') string()
    else if (c === 't') literal('true')
    else if (c === 'f') literal('false')
    else if (c === 'n') literal('null')
    else number()
  }
  const members = (close: string, member: () => void) => {
    i++
    ws()
    if (text[i] === close) {
      i++
      return
    }
    for (;;) {
      member()
      ws()
      if (text[i] === close) {
        i++
        return
      }
      if (text[i] !== ',') fail()
      i++
      ws()
      if (text[i] === close) fail() // a trailing comma: the commonest hand-edit mistake
    }
  }
  try {
    value()
    ws()
    return i < text.length ? i : -1
  } catch (offset) {
    return offset as number
  }
}
