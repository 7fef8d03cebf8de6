import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { downloadSlackFile, maxDownloadRedirects } from '../../src/adapters/slack/slack-files.ts'
import { startSlackEmulator } from '../support/slack/emulator.ts'

/** Roster's download of a Slack file: redirects followed, the token kept to Slack's own origin, caps kept. */

const token = 'xoxb-download-test'
const servers: Server[] = []
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections()
    await new Promise<void>((resolve) => s.close(() => resolve()))
  }
})

interface Seen {
  path: string
  authorization: string | undefined
}

/** A server on 127.0.0.1 (its own origin) answering with `answer`, recording what it was sent. */
async function host(answer: (req: IncomingMessage, res: ServerResponse) => void) {
  const seen: Seen[] = []
  const server = createServer((req, res) => {
    seen.push({ path: req.url ?? '', authorization: req.headers.authorization })
    answer(req, res)
  })
  servers.push(server)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen }
}

const redirect = (location: string) => (_req: IncomingMessage, res: ServerResponse) => {
  res.writeHead(302, { location })
  res.end()
}

const fileAt = (url: string, size = 2) => ({ id: 'F1', name: 'users.json', size, url_private_download: url })

describe('downloadSlackFile', () => {
  it("follows the emulator's 302 to its CDN: the bytes arrive, the token stays with Slack's host", async () => {
    const emulator = await startSlackEmulator()
    try {
      const file = emulator.addFile({ name: 'users.json', content: '[{"email":"a@example.com"}]' })
      const bytes = await downloadSlackFile(file, {
        botToken: emulator.botToken,
        maxBytes: 1000,
        apiUrl: emulator.apiUrl,
      })
      expect(bytes.toString()).toBe('[{"email":"a@example.com"}]')
      expect(emulator.callsOf('download')).toMatchObject([{ status: 302, args: { authorized: true } }])
      expect(emulator.callsOf('file_cdn')).toMatchObject([{ status: 200, args: { with_token: false } }])
    } finally {
      await emulator.close()
    }
  })

  it('sends the token on a redirect within the same origin, and never to another origin', async () => {
    const cdn = await host((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end('[]')
    })
    const slack = await host((req, res) =>
      req.url === '/files-pri/T1-F1/download/users.json'
        ? redirect('/files-pri/T1-F1/moved/users.json')(req, res)
        : redirect(`${cdn.url}/signed/abc`)(req, res),
    )
    const bytes = await downloadSlackFile(fileAt(`${slack.url}/files-pri/T1-F1/download/users.json`), {
      botToken: token,
      maxBytes: 100,
      apiUrl: `${slack.url}/api/`,
    })
    expect(bytes.toString()).toBe('[]')
    expect(slack.seen.map((s) => s.authorization)).toEqual([`Bearer ${token}`, `Bearer ${token}`])
    expect(cdn.seen).toEqual([{ path: '/signed/abc', authorization: undefined }])
  })

  it(`gives up after ${maxDownloadRedirects} redirects, naming the file`, async () => {
    const loop = await host(redirect('/files-pri/T1-F1/download/users.json'))
    await expect(
      downloadSlackFile(fileAt(`${loop.url}/files-pri/T1-F1/download/users.json`), {
        botToken: token,
        maxBytes: 100,
        apiUrl: `${loop.url}/api/`,
      }),
    ).rejects.toThrow(`Slack redirected the download of users.json more than ${maxDownloadRedirects} times`)
    expect(loop.seen).toHaveLength(maxDownloadRedirects + 1)
  })

  it('checks the final answer: an HTML page and a body over the cap are refused', async () => {
    const page = await host((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' })
      res.end('<html>Sign in</html>')
    })
    const big = await host((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(`[${'1,'.repeat(100)}1]`)
    })
    const slack = await host((req, res) => redirect(req.url?.includes('big') ? big.url : page.url)(req, res))
    const options = { botToken: token, maxBytes: 50, apiUrl: `${slack.url}/api/` }
    await expect(
      downloadSlackFile(fileAt(`${slack.url}/files-pri/T1-F1/page.json`), options),
    ).rejects.toThrow('Slack answered with a web page instead of users.json')
    await expect(downloadSlackFile(fileAt(`${slack.url}/files-pri/T1-F1/big.json`), options)).rejects.toThrow(
      'Payload content length greater than maximum allowed: 50.',
    )
  })
})
