/** A TCP port on 127.0.0.1 that was free a moment ago (listen on 0, read, close). */
export { freePort } from '../../src/topology/ports.ts';
