/**
 * `--live [PORT]`: a local page with the run's charts updating every second, over
 * server-sent events. The charts are the HTML report's own ("Over time"), rendered
 * here from the live view and sent as markup, so the live page and the report never
 * drift apart. The page needs no network beyond this server; it stops with the run
 * (after telling open pages that the run is over).
 */
import { createServer, type ServerResponse } from 'node:http';
import { htmlPage, renderSeriesCharts } from '../output/html.ts';
import { escapeHtml as h } from '../output/escape.ts';
import { formatCount, formatDuration } from '../output/format.ts';
import type { LiveSink, LiveView } from './live.ts';
import { listenHttp } from './listen.ts';
import { LIVE_BUCKETS_US } from './live.ts';

/** What one server-sent event carries: a status line and the charts' markup. */
export interface LiveFrame {
  status: string;
  charts: string;
  done: boolean;
}

/** The frame of one live view (pure; exported for tests). */
export function liveFrame(view: LiveView): LiveFrame {
  const fanout = view.metrics.distributionsSoFar(LIVE_BUCKETS_US).fanout;
  const counters = view.metrics.countersSoFar();
  const errors = Object.entries(counters).reduce((n, [k, v]) => (k.startsWith('errors.') ? n + v : n), 0);
  const status = [
    `${view.scenario} (${view.protocol})`,
    `phase ${view.phase}`,
    `${(view.elapsedMs / 1000).toFixed(0)} s`,
    `${formatCount(view.clientsConnected)}/${formatCount(view.clientsTarget)} clients`,
    `${formatCount(counters['messages.sent'] ?? 0)} sent`,
    `${formatCount(counters['messages.received'] ?? 0)} received`,
    fanout ? `fan-out p99 ${formatDuration(fanout.p99Us)}` : 'no fan-out yet',
    `${formatCount(errors)} errors`,
  ].join(' · ');
  return { status, charts: renderSeriesCharts({ series: view.metrics.series(), timeline: [...view.timeline], durationMs: view.elapsedMs }), done: view.phase === 'done' };
}

function page(title: string): string {
  return htmlPage({
    title,
    css: `
#live-status { font-variant-numeric: tabular-nums; }
#live-state.running::before { content: "\\25CF  "; color: var(--good); }`,
    header: `<h1>${h(title)} <span id="live-state" class="running">live</span></h1><div class="meta" id="live-status">waiting for the first second…</div>
`,
    body: `<section id="series"><h2>Over time</h2><p class="hint">Updated every second. Shaded bands are phases; red dashed lines are injected faults.</p><div id="live-charts"></div></section>
<script>${PAGE_SCRIPT}</script>
`,
    footer: 'wsbench live view: this page follows the run and stops with it.',
  }).replace('<title>', '<link rel="icon" href="data:,">\n<title>');
}

/** The page's only script: follow the event stream, swap in each second's charts. */
const PAGE_SCRIPT = `
const source = new EventSource('/events');
const state = document.getElementById('live-state');
source.onmessage = (e) => {
  const f = JSON.parse(e.data);
  document.getElementById('live-status').textContent = f.status;
  document.getElementById('live-charts').innerHTML = f.charts;
  if (f.done) {
    state.textContent = 'run finished';
    state.className = 'done';
    source.close();
  }
};
source.onerror = () => {
  if (state.className === 'running') { state.textContent = 'disconnected (the run ended?)'; state.className = 'lost'; }
  source.close();
};
`;

/** Serve the live page at `/` and its event stream at `/events`; resolves once listening. */
export async function startLivePage(spec: string, title = 'wsbench: live run'): Promise<LiveSink & { url: string }> {
  const clients = new Set<ServerResponse>();
  let last: string | undefined;
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' && path === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(page(title));
    } else if (req.method === 'GET' && path === '/events') {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
      clients.add(res);
      res.on('close', () => clients.delete(res));
      if (last) res.write(last);
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('the live page is at /\n');
    }
  });
  const url = await listenHttp(server, spec, '--live');
  return {
    url,
    update(view) {
      // Kept for a page that opens later; a few ms a second, only with --live.
      last = `data: ${JSON.stringify(liveFrame(view))}\n\n`;
      for (const c of clients) c.write(last);
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of clients) c.end();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
