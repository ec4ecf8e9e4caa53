/**
 * The native flavour's frame handler: one inbound frame of a connection in, the
 * answer or the action out (expiry, rate limit, parse, then ping / join / leave /
 * publish). No socket here: every effect goes through `FrameActions`, so the
 * rules are testable with plain objects (test/server-ws/dispatch.test.ts).
 */
import { roomAllowed } from '../core/jwt.ts';
import { parseClientFrame, type ClientCommand, type FrameLimits, type Id } from './client-frame.ts';
import { parseBinaryPublish } from './binary.ts';

/** What the handler reads of a connection. */
export interface FrameConn {
  /** Token expiry, ms since the epoch (Infinity = never). */
  readonly expMs: number;
  /** Rooms the token allows (undefined = any). */
  readonly allowed: string[] | undefined;
  /** Rooms joined or being joined. */
  readonly rooms: Set<string> | null;
}

/** The effects of a frame; the server implements them on real sockets. */
export interface FrameActions<C extends FrameConn> {
  now(): number;
  /** Take a token; false when the frame is dropped (the action answers or closes itself). */
  admit(c: C, now: number): boolean;
  close(c: C, code: number, reason: string): void;
  send(c: C, obj: object): void;
  sendError(c: C, id: Id | undefined, code: string, message: string): void;
  /** Run a join or leave after the connection's earlier ones (servers/ws/conn.ts serially). */
  serially(c: C, op: () => Promise<void> | undefined): void;
  join(c: C, id: Id, room: string, since: number | undefined, epoch?: string): Promise<void> | undefined;
  leave(c: C, room: string): void;
  publish(c: C, id: Id, room: string, payload: unknown, echo: boolean): void;
}

/** Frame limits plus `--max-rooms-per-conn`. */
export interface DispatchLimits extends FrameLimits {
  /** Rooms one connection may be in at once. */
  maxRoomsPerConn: number;
}

/** One parsed command of `c`: answered, queued (join, leave) or published. */
export function dispatchCommand<C extends FrameConn>(c: C, cmd: ClientCommand, limits: DispatchLimits, a: FrameActions<C>): void {
  if (cmd.type === 'ping') {
    a.send(c, cmd.payload === undefined ? { type: 'pong', id: cmd.id } : { type: 'pong', id: cmd.id, payload: cmd.payload });
    return;
  }
  const { id, room } = cmd;
  if (cmd.type === 'leave') {
    a.serially(c, () => {
      if (c.rooms?.has(room)) a.leave(c, room);
      a.send(c, { type: 'left', id, room });
      return undefined;
    });
    return;
  }
  if (cmd.type === 'join') {
    if (!roomAllowed({ rooms: c.allowed }, room)) return a.sendError(c, id, 'forbidden', `room ${JSON.stringify(room)} is not allowed by the token`);
    a.serially(c, () => {
      if (!c.rooms?.has(room) && (c.rooms?.size ?? 0) >= limits.maxRoomsPerConn) {
        a.sendError(c, id, 'bad_request', `too many rooms: at most ${limits.maxRoomsPerConn} per connection`);
        return undefined;
      }
      return a.join(c, id, room, cmd.since, cmd.epoch);
    });
    return;
  }
  if (!c.rooms?.has(room)) return a.sendError(c, id, 'not_joined', `not a member of room ${JSON.stringify(room)}`);
  a.publish(c, id, room, cmd.payload, cmd.echo);
}

/** The handler of every inbound data frame: token expiry, rate limit, parse, dispatch. */
export function createFrameHandler<C extends FrameConn>(limits: DispatchLimits, a: FrameActions<C>): (c: C, data: Buffer | string, isBinary: boolean) => void {
  return (c, data, isBinary) => {
    const now = a.now();
    if (now >= c.expMs) return a.close(c, 1008, 'token expired');
    if (!a.admit(c, now)) return;
    const parsed = isBinary ? parseBinaryPublish(data as Buffer, limits) : parseClientFrame(data, isBinary, limits);
    if (!parsed.ok) return a.sendError(c, parsed.problem.id, 'bad_request', parsed.problem.message);
    dispatchCommand(c, parsed.cmd, limits, a);
  };
}
