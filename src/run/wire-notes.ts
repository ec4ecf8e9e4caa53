/**
 * Notes for the report on what the raw client negotiated (issue #17): permessage-deflate
 * agreed or declined and with which parameters, and how many TLS handshakes resumed a
 * session. Read from the run's counters (src/metrics/names.ts).
 */
import { COUNTER } from '../metrics/names.ts';

/** The notes for `counters` (none when the run offered no compression and spoke no TLS). */
export function wireNotes(counters: Readonly<Record<string, number>>): string[] {
  const notes: string[] = [];
  const agreed = counters[COUNTER.compressionNegotiated] ?? 0;
  const declined = counters[COUNTER.compressionDeclined] ?? 0;
  if (agreed + declined > 0) {
    const params = Object.entries(counters)
      .filter(([k]) => k.startsWith('compression.') && k !== COUNTER.compressionNegotiated && k !== COUNTER.compressionDeclined)
      .map(([k, n]) => `${k.slice('compression.'.length).replace(/_(\d+)$/, '=$1')}${n === agreed ? '' : ` (${n})`}`);
    notes.push(
      `permessage-deflate: agreed on ${agreed} of ${agreed + declined} connections${params.length ? ` (${params.join('; ')})` : ''}` +
        (declined ? `; the server declined it on ${declined}, which ran uncompressed` : ''),
    );
  }
  const full = counters[COUNTER.tlsFull] ?? 0;
  const resumed = counters[COUNTER.tlsResumed] ?? 0;
  if (full + resumed > 0) notes.push(`TLS: ${full + resumed} handshakes, ${resumed} of them resumed a session (connect.tls times each one)`);
  return notes;
}
