/** The Socket.IO flavour's pure argument checks and the shared shutdown drain (no server). */
import { describe, it, expect } from 'vitest';
import { chatRoomProblem } from '../../servers/socketio/context.ts';
import { joinArgs } from '../../servers/socketio/room-events.ts';
import { messageArgs, privateArgs } from '../../servers/socketio/message-events.ts';
import { createConnectionDrain, onceClose } from '../../servers/core/lifecycle.ts';

describe('Socket.IO argument checks', () => {
  it('room names: the common rule, and no socket-id shapes or ids connected here', () => {
    expect(chatRoomProblem('lobby', 64, () => false)).toBeUndefined();
    expect(chatRoomProblem('AAAAAAAAAAAAAAAAAAAA', 64, () => false)).toMatch(/reserved/);
    expect(chatRoomProblem('x', 64, (n) => n === 'x')).toMatch(/reserved/);
    expect(chatRoomProblem('', 64, () => false)).toBeDefined();
    expect(chatRoomProblem(5, 64, () => false)).toBeDefined();
  });
  it('join-room options', () => {
    expect(joinArgs('r', [() => {}])).toEqual({ room: 'r', since: undefined });
    expect(joinArgs('r', [{ since: 3 }, () => {}])).toEqual({ room: 'r', since: 3 });
    expect(joinArgs('r', [7, () => {}])).toEqual({ problem: 'join-room options must be an object {since}' });
    expect(joinArgs('r', [{ since: -1 }, () => {}])).toMatchObject({ problem: expect.stringMatching(/non-negative/) });
  });
  it('message and private-message fields', () => {
    const rule = (r: unknown) => (r === 'ok' ? undefined : 'bad room');
    expect(messageArgs({ roomId: 'ok', content: 1 }, rule)).toEqual({ room: 'ok', content: 1, type: 'text' });
    expect(messageArgs([], rule)).toMatchObject({ problem: expect.stringMatching(/must be an object/) });
    expect(messageArgs({ roomId: 'no', content: 1 }, rule)).toEqual({ problem: 'bad room' });
    expect(messageArgs({ roomId: 'ok' }, rule)).toEqual({ problem: 'missing field "content"' });
    expect(messageArgs({ roomId: 'ok', content: 1, type: 2 }, rule)).toEqual({ problem: 'field "type" must be a string' });
    expect(privateArgs({ targetUserId: 'u', content: 'x' })).toEqual({ target: 'u', content: 'x' });
    expect(privateArgs({ targetUserId: '', content: 'x' })).toMatchObject({ problem: expect.stringMatching(/non-empty/) });
    expect(privateArgs(null)).toMatchObject({ problem: expect.stringMatching(/must be an object/) });
  });
});

describe('shutdown (servers/core/lifecycle.ts)', () => {
  it('waits for the last connection, or the timeout; runs once', async () => {
    const drain = createConnectionDrain();
    let open = 2;
    const steps: string[] = [];
    const close = onceClose((t) => ({
      stopAccepting: () => steps.push('stop'),
      closeConnections: () => steps.push('close'),
      open: () => open,
      drain,
      drainTimeoutMs: t ?? 10_000,
      release: async () => {
        steps.push(`release with ${open} open`);
      },
    }));
    const p1 = close();
    const p2 = close({ drainTimeoutMs: 1 });
    expect(p2).toBe(p1);
    await new Promise((r) => setTimeout(r, 20));
    expect(steps).toEqual(['stop', 'close']);
    open = 1;
    drain.left(open);
    open = 0;
    drain.left(open);
    await p1;
    expect(steps).toEqual(['stop', 'close', 'release with 0 open']);
    const t0 = Date.now();
    await createConnectionDrain().wait(30);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(25);
  });
});
