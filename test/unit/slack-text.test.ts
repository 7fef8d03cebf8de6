import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  clipMrkdwn,
  codeText,
  escapeMrkdwn,
  plainText,
  userText,
} from '../../src/adapters/slack/blocks/slack-text.ts'

const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/
/** Any `<`, `>` left, or an `&` that does not start one of the three entities. */
const liveMarkup = /[<>]|&(?!(?:amp|lt|gt);)/

describe('userText: data as mrkdwn', () => {
  it('escapes &, < and > so mentions and links in data stay text', () => {
    expect(userText('<!channel> & <https://evil.example|payroll>.json')).toBe(
      '&lt;!channel&gt; &amp; &lt;https://evil.example|payroll&gt;.json',
    )
  })

  it('turns backticks into ˋ so data cannot close a code span', () => {
    expect(codeText('a`b')).toBe('`aˋb`')
    expect(escapeMrkdwn('```')).toBe('ˋˋˋ')
  })

  it('clips by grapheme with "…", counting the escaped length, never inside an entity', () => {
    // "&&&&" escapes to 20 characters; 12 leaves room for two entities and the ellipsis.
    expect(userText('&&&&', 12)).toBe('&amp;&amp;…')
    expect(userText('ab<', 5)).toBe('ab…')
    expect(userText('ab<', 6)).toBe('ab&lt;')
    expect(userText('abc', 3)).toBe('abc')
  })

  it('never cuts an emoji in half, even a family of several code points', () => {
    const family = '👨‍👩‍👧‍👦'
    const clipped = userText(`${'x'.repeat(10)}${family}`, 15)
    expect(clipped).toBe(`${'x'.repeat(10)}…`)
    expect(userText(`x${family}`, 20)).toBe(`x${family}`)
  })

  it('replaces lone surrogates already in the data', () => {
    expect(userText('a\uD83Db')).toBe('a\uFFFDb')
  })

  it('keeps any string within its limit, well-formed and without live markup (property)', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary', maxLength: 300 }),
        fc.integer({ min: 1, max: 200 }),
        (s, max) => {
          const out = userText(s, max)
          expect(out.length).toBeLessThanOrEqual(max)
          expect(out).not.toMatch(loneSurrogate)
          expect(out).not.toMatch(liveMarkup)
          expect(out).not.toContain('`')
        },
      ),
    )
  })
})

describe('clipMrkdwn: Roster-composed text', () => {
  it('leaves text within the limit alone', () => {
    expect(clipMrkdwn('hi <@U1>', 100)).toBe('hi <@U1>')
  })

  it('cuts before a mention or entity rather than through it', () => {
    expect(clipMrkdwn('ab <@U123456> &amp; x', 8)).toBe('ab …')
    expect(clipMrkdwn('ab &amp; cd', 7)).toBe('ab …')
  })

  it('never exceeds the limit nor leaves half an emoji (property)', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'grapheme', maxLength: 200 }),
        fc.integer({ min: 1, max: 150 }),
        (s, max) => {
          const out = clipMrkdwn(s, max)
          expect(out.length).toBeLessThanOrEqual(max)
          expect(out).not.toMatch(loneSurrogate)
        },
      ),
    )
  })
})

describe('plainText', () => {
  it('clips by grapheme without escaping (Slack parses nothing in plain_text)', () => {
    expect(plainText('a & b', 75)).toBe('a & b')
    expect(plainText(`${'y'.repeat(74)}😀`, 75)).toBe(`${'y'.repeat(74)}…`)
  })
})
