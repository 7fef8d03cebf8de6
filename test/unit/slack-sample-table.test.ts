import { describe, expect, it } from 'vitest'
import {
  defaultTableLimits,
  renderSampleTable,
  sampleTableFromText,
  sampleTableMessage,
} from '../../src/adapters/slack/blocks/export-sample-table.ts'
import { resolveColumns } from '../../src/domain/export/export-fields.ts'
import { exportWriter } from '../../src/domain/export/format.ts'

const columns = resolveColumns([
  { name: 'email' },
  { name: 'given_name', export_as: 'Given Name' },
  { name: 'user_metadata' },
])
const users = [
  ['ada@example.com', 'Ada', { plan: 'pro' }],
  ['grace@example.com', '=HYPERLINK("x")', undefined],
]

function file(format: 'csv' | 'json' | 'ndjson'): string {
  const writer = exportWriter(format, columns)
  return writer.head + users.map((values, i) => writer.row(values, i)).join('') + writer.tail
}

describe('sampleTableFromText', () => {
  it('reads a CSV export back, undoing Auth0 escaping', () => {
    expect(sampleTableFromText('csv', file('csv'))).toEqual({
      columns: ['email', 'Given Name', 'user_metadata'],
      rows: [
        ['ada@example.com', 'Ada', '{"plan":"pro"}'],
        ['grace@example.com', '=HYPERLINK("x")', ''],
      ],
    })
  })

  it('reads JSON and NDJSON exports into the same table', () => {
    const json = sampleTableFromText('json', file('json'))
    expect(sampleTableFromText('ndjson', file('ndjson'))).toEqual(json)
    expect(json.rows[1]).toEqual(['grace@example.com', '=HYPERLINK("x")', ''])
  })
})

describe('renderSampleTable', () => {
  it('aligns columns under a rule', () => {
    const table = {
      columns: ['email', 'n'],
      rows: [
        ['a@x.io', '1'],
        ['bob@example.com', '22'],
      ],
    }
    expect(renderSampleTable(table).text).toMatchInlineSnapshot(`
      "email            n
      ───────────────  ──
      a@x.io           1
      bob@example.com  22"
    `)
  })

  it('cuts long cells and leaves columns that do not fit for the file', () => {
    const table = { columns: ['a', 'b', 'c'], rows: [['x'.repeat(40), 'y'.repeat(40), 'z']] }
    const rendered = renderSampleTable(table, {
      ...defaultTableLimits,
      maxCellChars: 10,
      maxLineChars: 22,
    })
    expect(rendered.text.split('\n')[2]).toBe('xxxxxxxxx…  yyyyyyyyy…')
    expect(rendered.hiddenColumns).toBe(1)
  })

  it('shows at most ten rows', () => {
    const table = { columns: ['n'], rows: Array.from({ length: 12 }, (_, i) => [String(i)]) }
    const rendered = renderSampleTable(table)
    expect(rendered.text.split('\n')).toHaveLength(12)
    expect(rendered.hiddenRows).toBe(2)
  })

  it('escapes what Slack would read as markup, and backticks that would end the block', () => {
    const rendered = renderSampleTable({ columns: ['v'], rows: [['<@U1> & `x`']] })
    expect(rendered.text.split('\n')[2]).toBe('&lt;@U1&gt; &amp; ˋxˋ')
  })

  it("leaves whole rows out when the escaped table would pass a section's 3,000 characters, never cutting an entity", () => {
    // 24 "&" a cell, 5 columns: each row is ~600 characters once escaped, so ten do not fit.
    const columns = ['a', 'b', 'c', 'd', 'e']
    const rows = Array.from({ length: 10 }, () => columns.map(() => '&'.repeat(30)))
    const message = sampleTableMessage('job_1', { columns, rows })
    const block = message.blocks[1] as { text: { text: string } }
    expect(block.text.text.length).toBeLessThanOrEqual(3000)
    expect(block.text.text).toMatch(/^```\n[\s\S]*\n```$/)
    expect(block.text.text).not.toMatch(/&(?!(?:amp|lt|gt);)/)
    const shownRows = block.text.text.split('\n').length - 4
    expect(shownRows).toBeGreaterThan(0)
    expect(shownRows).toBeLessThan(10)
    expect(message.text).toContain(`${10 - shownRows} more rows`)
  })

  it('cuts cells by grapheme, never through an emoji', () => {
    const rendered = renderSampleTable({ columns: ['v'], rows: [[`${'x'.repeat(22)}👨‍👩‍👧‍👦tail`]] })
    expect(rendered.text.split('\n')[2]).toBe(`${'x'.repeat(22)}…`)
  })
})

describe('sampleTableMessage', () => {
  it('puts the table in a code block under a caption', () => {
    const message = sampleTableMessage('job_1', { columns: ['email'], rows: [['a@x.io']] })
    expect(message.text).toBe('Sample of job_1: 1 user.')
    expect(message.blocks[1]).toEqual({
      type: 'section',
      text: { type: 'mrkdwn', text: '```\nemail\n──────\na@x.io\n```' },
    })
  })

  it('says so when the sample is empty', () => {
    expect(sampleTableMessage('job_1', { columns: [], rows: [] }).text).toBe(
      'The sample of job_1 has no users.',
    )
  })
})

describe('empty columns', () => {
  it('are left out of the table and counted in the caption', () => {
    const table = {
      columns: ['email', 'username', 'n'],
      rows: [
        ['a@x.io', '', '1'],
        ['b@x.io', '', '2'],
      ],
    }
    expect(renderSampleTable(table)).toMatchObject({ emptyColumns: 1, hiddenColumns: 0 })
    expect(renderSampleTable(table).text.split('\n')[0]).toBe('email   n')
    expect(sampleTableMessage('job_1', table).text).toBe(
      'Sample of job_1: 2 users (1 empty column only in the file).',
    )
  })
})
