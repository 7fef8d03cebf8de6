import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

/**
 * `npm run demo` is what a newcomer runs first to see the Slack flow: it must play to its end against the strict
 * emulator (every call within Slack's published limits) and print the channel as people read it.
 */
const root = fileURLToPath(new URL('../..', import.meta.url))

function runDemo(): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = {}
    for (const key of ['PATH', 'HOME', 'TMPDIR', 'USER']) {
      if (process.env[key] !== undefined) env[key] = process.env[key]
    }
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/demo.ts'], { cwd: root, env })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8')
    })
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8')
    })
    // The demo has its own 120 s ceiling on each wait; this only keeps a hung child from outliving the test.
    const timer = setTimeout(() => child.kill('SIGKILL'), 170_000)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })
}

describe('npm run demo', () => {
  it('plays the whole Slack session against the strict emulator, with no refused call', async () => {
    const { code, stdout, stderr } = await runDemo()
    expect(code, stderr).toBe(0)
    expect(stdout).toContain("Every call passed the emulator's checks of Slack's limits.")
    // Piped, the transcript carries no terminal colour codes, and reads as Slack shows it (names, not ids).
    expect(stdout.includes(`${String.fromCharCode(27)}[`)).toBe(false)
    expect(stdout).not.toMatch(/<@U[A-Z0-9]+>/)
  }, 180_000)
})
