/**
 * The Socket.IO chat vocabulary's event and field names (PROTOCOL.md section 2),
 * shared by both Socket.IO clients (socketio-lean.ts, socketio-transport.ts) and
 * overridable per run with `--set sio-names=join=subscribe,publish=send`.
 */

/** Event names of the chat vocabulary, overridable with `--set sio-names=join=subscribe,publish=send`. */
export interface SocketIoNames {
  connected: string;
  join: string;
  leave: string;
  publish: string;
  message: string;
  /** Event telling a resuming member which seqs the server no longer holds ({roomId, from, to}). */
  gap: string;
  /** Payload field names of `message` / `new-message`. */
  room: string;
  content: string;
  seq: string;
  /** Field of the `connected` event naming the node, for per-node breakdowns behind a load balancer. */
  node: string;
}

/** The chat vocabulary's names as the bundled Socket.IO server uses them (PROTOCOL.md section 2). */
export const DEFAULT_SOCKETIO_NAMES: SocketIoNames = {
  connected: 'connected',
  join: 'join-room',
  leave: 'leave-room',
  publish: 'message',
  message: 'new-message',
  gap: 'gap',
  room: 'roomId',
  content: 'content',
  seq: 'seq',
  node: 'node',
};

/** Parse `key=value,key=value` overrides; returns problems for unknown keys. */
export function parseSocketIoNames(text: string | undefined): { names: SocketIoNames; problems: string[] } {
  const names = { ...DEFAULT_SOCKETIO_NAMES };
  const problems: string[] = [];
  for (const part of (text ?? '').split(',').map((s) => s.trim()).filter(Boolean)) {
    const eq = part.indexOf('=');
    const key = part.slice(0, eq) as keyof SocketIoNames;
    if (eq <= 0 || !(key in names) || !part.slice(eq + 1)) {
      problems.push(`socket.io name "${part}": expected KEY=NAME with KEY one of ${Object.keys(names).join(', ')}`);
      continue;
    }
    names[key] = part.slice(eq + 1);
  }
  return { names, problems };
}
