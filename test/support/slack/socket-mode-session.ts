/**
 * A child process for the Socket Mode shutdown test: Roster in Socket Mode against the emulator, one `/jobs` over
 * the WebSocket, then a clean shutdown — and nothing else. The process must then exit by itself (it never calls
 * process.exit): a socket, timer or reconnect left running would keep it alive, and the test would see it hang.
 * What is still open after shutdown is printed, so a hang comes with its cause.
 */
import { openSlackHarness, slackAdmin } from '../slack-harness.ts'

const h = await openSlackHarness({ socketMode: true })
const ack = await h.socket.command('/jobs', { user: slackAdmin })
process.stdout.write(`acked ${JSON.stringify(ack.json ?? null).slice(0, 80)}\n`)
await h.close()
const closes = h.emulator.callsOf('socket_close').map((call) => call.args)
process.stdout.write(`closed ${JSON.stringify(closes)}\n`)
// Written synchronously on purpose: if the process hangs, the test kills it and shows this line.
const open = process.getActiveResourcesInfo().filter((kind) => kind !== 'TTYWrap')
process.stdout.write(`still open after close: ${JSON.stringify(open)}\n`)
