import { createHash } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'

/**
 * The server half of RFC 6455, just enough for Socket Mode: text frames (fragmented or not), ping → pong, and the
 * close handshake. No extensions or subprotocols are negotiated. Written here because `@slack/socket-mode` 3 connects
 * with undici's WebSocket, which has no server side, and `ws` is not installed.
 */

const acceptGuid = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11'
const opcodes = { continuation: 0x0, text: 0x1, binary: 0x2, close: 0x8, ping: 0x9, pong: 0xa } as const

export interface WebSocketHandlers {
  onMessage(text: string): void
  onClose(): void
}

/** Completes the upgrade handshake, or answers 400 and returns undefined when the request is not a WebSocket one. */
export function acceptWebSocket(
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  handlers: WebSocketHandlers,
): WebSocketConnection | undefined {
  const key = req.headers['sec-websocket-key']
  if (req.headers.upgrade?.toLowerCase() !== 'websocket' || typeof key !== 'string') {
    socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n')
    return undefined
  }
  const accept = createHash('sha1').update(`${key}${acceptGuid}`).digest('base64')
  socket.write(
    `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`,
  )
  return new WebSocketConnection(socket, head, handlers)
}

/** Who ended a connection: the client's close frame, the server's, or no close frame at all (a drop). */
export type ClosedBy = 'client' | 'server' | 'dropped'

export class WebSocketConnection {
  /** Set once the connection is over: who ended it, and the status code of the first close frame, if any. */
  closedBy: ClosedBy | undefined
  closeCode: number | undefined
  private pending: Buffer
  private fragments: Buffer[] = []
  private closed = false
  private finished = false

  constructor(
    private readonly socket: Duplex,
    head: Buffer,
    private readonly handlers: WebSocketHandlers,
  ) {
    this.pending = Buffer.from(head)
    socket.on('data', (chunk: Buffer) => {
      this.pending = Buffer.concat([this.pending, chunk])
      this.readFrames()
    })
    socket.on('close', () => this.finish())
    socket.on('error', () => this.finish())
    if (this.pending.length > 0) queueMicrotask(() => this.readFrames())
  }

  get isOpen(): boolean {
    return !this.closed && !this.socket.destroyed
  }

  send(text: string): void {
    this.write(opcodes.text, Buffer.from(text, 'utf8'))
  }

  /** Starts the close handshake; the socket is ended once the frame is written. */
  close(code = 1000): void {
    if (!this.isOpen) return
    const payload = Buffer.alloc(2)
    payload.writeUInt16BE(code, 0)
    this.write(opcodes.close, payload)
    this.closed = true
    this.closedBy ??= 'server'
    this.closeCode ??= code
    this.socket.end()
  }

  /** Drops the connection without a close frame, as a crashed server would. */
  terminate(): void {
    this.closedBy ??= 'dropped'
    this.socket.destroy()
    this.finish()
  }

  private write(opcode: number, payload: Buffer): void {
    if (!this.isOpen) return
    const length = payload.length
    let header: Buffer
    if (length < 126) {
      header = Buffer.from([0x80 | opcode, length])
    } else if (length < 0x10000) {
      header = Buffer.alloc(4)
      header.writeUInt8(0x80 | opcode, 0)
      header.writeUInt8(126, 1)
      header.writeUInt16BE(length, 2)
    } else {
      header = Buffer.alloc(10)
      header.writeUInt8(0x80 | opcode, 0)
      header.writeUInt8(127, 1)
      header.writeBigUInt64BE(BigInt(length), 2)
    }
    this.socket.write(Buffer.concat([header, payload]))
  }

  private readFrames(): void {
    while (this.pending.length >= 2) {
      const first = this.pending.readUInt8(0)
      const second = this.pending.readUInt8(1)
      let length = second & 0x7f
      let offset = 2
      if (length === 126) {
        if (this.pending.length < 4) return
        length = this.pending.readUInt16BE(2)
        offset = 4
      } else if (length === 127) {
        if (this.pending.length < 10) return
        length = Number(this.pending.readBigUInt64BE(2))
        offset = 10
      }
      const masked = (second & 0x80) !== 0
      const start = offset + (masked ? 4 : 0)
      if (this.pending.length < start + length) return
      const payload = Buffer.from(this.pending.subarray(start, start + length))
      if (masked) {
        const mask = this.pending.subarray(offset, offset + 4)
        for (let i = 0; i < payload.length; i++)
          payload.writeUInt8(payload.readUInt8(i) ^ mask.readUInt8(i % 4), i)
      }
      this.pending = this.pending.subarray(start + length)
      this.onFrame((first & 0x80) !== 0, first & 0x0f, payload)
    }
  }

  private onFrame(fin: boolean, opcode: number, payload: Buffer): void {
    switch (opcode) {
      case opcodes.text:
      case opcodes.binary:
      case opcodes.continuation:
        this.fragments.push(payload)
        if (fin) this.handlers.onMessage(Buffer.concat(this.fragments.splice(0)).toString('utf8'))
        return
      case opcodes.ping:
        this.write(opcodes.pong, payload)
        return
      case opcodes.close:
        // Echo the close frame (its status code only), then end: the client's close handshake completes.
        this.closedBy ??= 'client'
        this.closeCode ??= payload.length >= 2 ? payload.readUInt16BE(0) : undefined
        this.write(opcodes.close, payload.subarray(0, 2))
        this.closed = true
        this.socket.end()
        return
      default:
        return
    }
  }

  private finish(): void {
    this.closed = true
    // The TCP connection ended without any close frame: the peer vanished.
    this.closedBy ??= 'dropped'
    if (this.finished) return
    this.finished = true
    this.handlers.onClose()
  }
}
