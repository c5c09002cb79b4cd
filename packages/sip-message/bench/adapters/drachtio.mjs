// Adapter for `drachtio-sip` 0.6.3: new SipMessage(string) splits the message into a map of
// raw header strings (lazy mode: same-name headers joined with ','); msg.getParsedHeader(name)
// parses one header on demand, msg.toString() rebuilds the message from the map.
// Edits are string edits on that map, as a drachtio application would do them.
import { createRequire } from 'node:module';
import { PROXY_RECORD_ROUTE, PROXY_VIA, topLevelComma } from './proxy-edits.mjs';

const require = createRequire(import.meta.url);

/** Drop the first element of a comma-joined list header; undefined when none remains. */
function dropFirst(value) {
  const i = topLevelComma(value);
  return i < 0 ? undefined : value.slice(i + 1).trimStart();
}

/** @returns {Promise<import('./types.mjs').Adapter>} */
export async function load() {
  const { SipMessage } = require('drachtio-sip');
  const version = require('drachtio-sip/package.json').version;
  return {
    id: 'drachtio',
    name: `drachtio-sip ${version}`,
    // The SipMessage constructor parses only a string (an object is taken as already parsed).
    input: 'string',
    serializes: true,
    prepare: (bytes) => bytes.toString('utf8'),
    parse: (s) => new SipMessage(s),
    read(m, out) {
      out.branch = m.getParsedHeader('via')[0].params.branch;
      out.fromTag = m.getParsedHeader('from').params.tag;
      out.toTag = m.getParsedHeader('to').params.tag;
      out.callId = m.get('call-id');
      const cseq = m.getParsedHeader('cseq');
      out.cseq = cseq.seq;
      out.method = cseq.method;
      const mf = m.get('max-forwards');
      out.maxForwards = mf === undefined ? undefined : +mf;
      if (m.has('route')) {
        const route = m.getParsedHeader('route');
        out.routes = route.length;
        out.routeUri = route[0].uri.host;
      } else {
        out.routes = 0;
        out.routeUri = undefined;
      }
      out.contact = m.has('contact') ? m.getParsedHeader('contact')[0].uri : undefined;
      out.ruriHost = m.method === undefined ? undefined : SipMessage.parseUri(m.uri).host;
    },
    forward(m, out) {
      const h = m.headers;
      if (m.method !== undefined) {
        h.via = PROXY_VIA + ',' + h.via;
        const rr = h['record-route'];
        h['record-route'] = rr === undefined ? PROXY_RECORD_ROUTE : PROXY_RECORD_ROUTE + ',' + rr;
        h['max-forwards'] = String(out.maxForwards - 1);
        if (out.routes > 0) {
          const rest = dropFirst(h.route);
          if (rest === undefined) delete h.route;
          else h.route = rest;
        }
      } else {
        h.via = dropFirst(h.via);
      }
      return Buffer.from(m.toString(), 'utf8');
    },
  };
}
