/** servers/main.ts --protocol socketio as a child process: first lines, SIGUSR2, SIGTERM drain, refusals. */
import { describe, it, expect, afterEach } from 'vitest';
import { Client, cleanup, spawnMain, getJson } from './helpers.ts';

afterEach(cleanup);

const URL_RE = /^http:\/\/127\.0\.0\.1:(\d+)\/socket\.io$/;

describe('servers/main.ts --protocol socketio', () => {
  it('prints the URL then the token; SIGUSR2 drops every transport and keeps serving; SIGTERM drains and exits 0', async () => {
    const m = spawnMain(['--protocol', 'socketio', '--port', '0', '--heartbeat-ms', '5000']);
    const [url, tokenLine] = await m.firstLines(2);
    expect(url).toMatch(URL_RE);
    const port = Number(URL_RE.exec(url!)![1]);
    const token = tokenLine!.slice('token: '.length);
    const a = await Client.open(url!, { token });
    expect((await getJson(port, '/healthz')).body).toEqual({ status: 'ok', node: 'n0' });
    m.child.kill('SIGUSR2');
    expect(await a.next('disconnect')).toEqual(['transport close']);
    const b = await Client.open(url!, { token });
    expect((await b.join('r')).success).toBe(true);
    m.child.kill('SIGTERM');
    expect(await b.next('disconnect')).toEqual(['transport close']);
    expect(await m.exited).toEqual({ code: 0, signal: null });
    expect(m.lines).toHaveLength(2);
  });

  it('exits 2 for --workers (unsupported with socketio) and names the flag', async () => {
    const m = spawnMain(['--protocol', 'socketio', '--workers', '2']);
    expect((await m.exited).code).toBe(2);
    expect(m.stderr.join('\n')).toMatch(/workers: --workers is not supported with --protocol socketio/);
    expect(m.lines).toEqual([]);
  });
});
