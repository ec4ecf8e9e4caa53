/**
 * Binary messages on the Socket.IO flavour (docs/PROTOCOL.md "Binary frames"): a
 * `message` whose `content` is bytes (a Buffer in Socket.IO's binary attachment) is
 * relayed as bytes: the live `new-message`, the replay on resume, the single-node
 * recovery buffer and the Redis adapters all carry a Buffer. The retention keeps
 * text, so a binary message is retained as its JSON with the content in base64 and
 * `"binary":true` (a field only the server writes); `messageOfRetained` turns it back.
 */

/** The bytes of a message whose whole `content` is binary, else undefined. */
export function binaryContent(msg: unknown): Buffer | undefined {
  const c = (msg as { content?: unknown } | null)?.content;
  if (Buffer.isBuffer(c)) return c;
  if (c instanceof Uint8Array) return Buffer.from(c.buffer, c.byteOffset, c.byteLength);
  return undefined;
}

/** The retained JSON of a room message (without seq and timestamp, which the bus and caller add). */
export function retainedHead(id: string, roomId: string, userId: string, content: unknown, type: string): string {
  const bytes = binaryContent({ content });
  if (bytes) return JSON.stringify({ id, roomId, userId, content: bytes.toString('base64'), type, binary: true });
  return JSON.stringify({ id, roomId, userId, content, type });
}

/** A retained message as the `new-message` payload: a binary one gets its content back as a Buffer. */
export function messageOfRetained(text: string): Record<string, unknown> {
  const m = JSON.parse(text) as Record<string, unknown>;
  if (m.binary === true && typeof m.content === 'string') {
    m.content = Buffer.from(m.content, 'base64');
    delete m.binary;
  }
  return m;
}
