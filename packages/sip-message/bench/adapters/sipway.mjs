// Adapter for our parser, @sipway/sip-message, loaded from the built dist/ (run tsup first).
// SIPWAY_DIST=/some/dir/index.js loads another build instead (e.g. one made with --out-dir).
import { pathToFileURL } from 'node:url';
import { PROXY_RECORD_ROUTE, PROXY_VIA } from './proxy-edits.mjs';

/**
 * @param {{ dist?: string, id?: string }} [options] another build to load (an A/B comparison)
 * @returns {Promise<import('./types.mjs').Adapter>}
 */
export async function load(options = {}) {
  const dist = options.dist ?? process.env.SIPWAY_DIST;
  const lib = dist ? await import(pathToFileURL(dist).href) : await import('../../dist/index.js');
  const { parseMessage, serializeMessage } = lib;
  if (typeof parseMessage !== 'function' || typeof serializeMessage !== 'function') {
    throw new Error('dist/index.js does not export parseMessage/serializeMessage yet');
  }
  return {
    id: options.id ?? 'sipway',
    name: options.dist ? `@sipway/sip-message B (${options.dist})` : '@sipway/sip-message',
    input: 'Buffer',
    serializes: true,
    prepare: (bytes) => bytes,
    parse: (buf) => parseMessage(buf),
    read(m, out) {
      const via = m.topVia;
      out.branch = via === undefined ? undefined : via.branch;
      const from = m.from;
      out.fromTag = from === undefined ? undefined : from.tag;
      const to = m.to;
      out.toTag = to === undefined ? undefined : to.tag;
      out.callId = m.callId;
      const cseq = m.cseq;
      out.cseq = cseq === undefined ? undefined : cseq.seq;
      out.method = cseq === undefined ? undefined : cseq.method;
      out.maxForwards = m.maxForwards;
      const routes = m.routes;
      out.routes = routes.length;
      out.routeUri = routes.length > 0 ? routes[0].uri : undefined;
      const contacts = m.contacts;
      out.contact = contacts.length > 0 ? contacts[0].uri : undefined;
      out.ruriHost = m.isRequest ? m.requestUri.host : undefined;
    },
    forward(m, out) {
      if (m.isRequest) {
        m.insertHeader('Via', PROXY_VIA);
        m.insertHeader('Record-Route', PROXY_RECORD_ROUTE);
        m.setHeader('Max-Forwards', String(out.maxForwards - 1));
        if (out.routes > 0) m.removeHeaderValue('Route', 0);
      } else {
        // A proxy forwarding a response removes its own (top) Via (RFC 3261 §16.7 step 3).
        m.removeHeaderValue('Via', 0);
      }
      return serializeMessage(m);
    },
  };
}
