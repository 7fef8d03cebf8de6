import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { usage } from '../../src/adapters/cli/usage.ts'
import { envSchema } from '../../src/config.ts'

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8')

describe('README stays true', () => {
  it('documents every CLI command the help lists', () => {
    const commands = usage
      .split('\n')
      .filter((line) => /^ {2}[a-z]/.test(line))
      .map((line) => (line.trim().match(/^[a-z]+( (errors|add|count|get))?/) as RegExpMatchArray)[0])
    expect(commands.length).toBeGreaterThan(8)
    for (const command of commands) expect(readme).toContain(`| \`${command}`)
  })

  it('documents every environment variable', () => {
    for (const name of Object.keys(envSchema.shape)) expect(readme).toContain(`\`${name}\``)
  })

  it('shows the two setup commands and the test command', () => {
    expect(readme).toContain('npm install\nnpm start')
    expect(readme).toContain('npm test')
  })
})
