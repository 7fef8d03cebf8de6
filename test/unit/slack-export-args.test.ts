import { describe, expect, it } from 'vitest'
import { exportModal, readExportModal } from '../../src/adapters/slack/blocks/export-modal.ts'
import { parseExportArgs, parseFieldLines } from '../../src/adapters/slack/listeners/export-args.ts'
import type { Connection } from '../../src/domain/connections/connection.ts'

const upa: Connection = {
  id: 'con_0000000000000001',
  name: 'Username-Password-Authentication',
  strategy: 'auth0',
  enabled: true,
  created_at: '2026-11-27T10:00:00.000Z',
}
const legacy: Connection = { ...upa, id: 'con_0000000000000002', name: 'legacy-db' }
const connections = [upa, legacy]

describe('parseExportArgs', () => {
  it('reads a connection, a format and sample in any order', () => {
    const forward = parseExportArgs('Username-Password-Authentication csv sample', connections)
    const backward = parseExportArgs('sample CSV Username-Password-Authentication', connections)
    expect(forward).toEqual({
      ok: true,
      value: { connection: upa, format: 'csv', sample: true, gzip: false },
    })
    expect(backward).toEqual(forward)
  })

  it('takes a connection by id, and gzip', () => {
    expect(parseExportArgs('con_0000000000000002 ndjson gzip', connections)).toEqual({
      ok: true,
      value: { connection: legacy, format: 'ndjson', sample: false, gzip: true },
    })
  })

  it('exports every connection as JSON when neither is named', () => {
    expect(parseExportArgs('all', connections)).toEqual({
      ok: true,
      value: { connection: undefined, format: 'json', sample: false, gzip: false },
    })
    expect(parseExportArgs('sample', connections)).toMatchObject({
      ok: true,
      value: { connection: undefined },
    })
  })

  it('refuses an unknown word with the usage, naming the connections', () => {
    const parsed = parseExportArgs('Username-Password-Authentication xlsx', connections)
    expect(parsed.ok).toBe(false)
    if (parsed.ok) return
    expect(parsed.problem).toContain('`xlsx` is neither an option nor a connection')
    expect(parsed.problem).toContain('Username-Password-Authentication, legacy-db')
    expect(parsed.problem).toContain('Usage: `/export [connection|all] [json|ndjson|csv] [sample] [gzip]`')
  })

  it('refuses two formats or two connections', () => {
    expect(parseExportArgs('csv json', connections)).toMatchObject({
      ok: false,
      problem: expect.stringContaining('Pick one format'),
    })
    expect(parseExportArgs('legacy-db all', connections)).toMatchObject({
      ok: false,
      problem: expect.stringContaining('Name one connection'),
    })
  })
})

describe('parseFieldLines', () => {
  it('reads one field per line, with an optional export name', () => {
    expect(parseFieldLines('email\n  user_metadata.plan = Plan \n\n', false)).toEqual({
      ok: true,
      value: [{ name: 'email' }, { name: 'user_metadata.plan', export_as: 'Plan' }],
    })
  })

  it('puts the default fields first when asked', () => {
    const parsed = parseFieldLines('user_metadata.plan=Plan', true)
    expect(parsed.ok && parsed.value?.map((f) => f.export_as ?? f.name)).toEqual([
      'Id',
      'Given Name',
      'Family Name',
      'Nickname',
      'Name',
      'Email',
      'Email Verified',
      'Picture',
      'Connection',
      'Created At',
      'Updated At',
      'Plan',
    ])
  })

  it('leaves the fields to the engine when none are given', () => {
    expect(parseFieldLines('  \n', false)).toEqual({ ok: true, value: undefined })
  })

  it('refuses what the export would refuse, in its words', () => {
    expect(parseFieldLines('password_hash', false)).toEqual({
      ok: false,
      problem: 'password_hash is never exported: password hashes and MFA secrets stay in the store.',
    })
    expect(parseFieldLines('email=Email', true)).toEqual({
      ok: false,
      problem: 'Two fields are exported as "Email": rename one.',
    })
  })

  it('names the line of a malformed entry', () => {
    expect(parseFieldLines('email\n=Plan', false)).toEqual({
      ok: false,
      problem: 'Line 2: name the field before "=".',
    })
    expect(parseFieldLines('email=', false)).toMatchObject({
      ok: false,
      problem: expect.stringMatching(/^Line 1:/),
    })
  })
})

describe('the export dialog', () => {
  it('offers every connection after "All connections", JSON first', () => {
    const view = exportModal({ metadata: { channel: 'C0GENERAL' }, connections })
    const select = (view.blocks[0] as { element: { options: { text: { text: string } }[] } }).element
    expect(select.options.map((o) => o.text.text)).toEqual([
      'All connections',
      'Username-Password-Authentication',
      'legacy-db',
    ])
    expect(JSON.parse(view.private_metadata ?? '')).toEqual({ channel: 'C0GENERAL' })
  })

  it('reads back what was chosen', () => {
    const values = {
      export_connection: { connection: { type: 'static_select', selected_option: { value: upa.id } } },
      export_format: { format: { type: 'radio_buttons', selected_option: { value: 'csv' } } },
      export_default_fields: { default_fields: { type: 'checkboxes', selected_options: [{ value: 'on' }] } },
      export_fields: { fields: { type: 'plain_text_input', value: 'user_metadata.plan=Plan' } },
      export_sample: { sample: { type: 'checkboxes', selected_options: [] } },
      export_gzip: { gzip: { type: 'checkboxes', selected_options: [{ value: 'on' }] } },
    }
    expect(readExportModal(values)).toEqual({
      connection: upa.id,
      format: 'csv',
      defaultFields: true,
      fieldLines: 'user_metadata.plan=Plan',
      sample: false,
      gzip: true,
    })
  })

  it('reads "All connections" as no connection, and refuses a payload it did not build', () => {
    const values = {
      export_connection: { connection: { selected_option: { value: '*all*' } } },
      export_format: { format: { selected_option: { value: 'json' } } },
      export_default_fields: { default_fields: {} },
      export_fields: { fields: { value: null } },
      export_sample: { sample: { selected_options: [{ value: 'on' }] } },
      export_gzip: { gzip: {} },
    }
    expect(readExportModal(values)).toMatchObject({ connection: undefined, sample: true, fieldLines: '' })
    expect(readExportModal({ export_format: { format: { selected_option: { value: 'xlsx' } } } })).toBeNull()
  })
})
