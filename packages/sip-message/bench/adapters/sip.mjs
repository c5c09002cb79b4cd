// Adapter for `sip` 0.0.6 (kirm/sip.js): sip.parse(string|Buffer) is eager, it parses Via,
// From, To, CSeq, Contact, Route and Record-Route into objects; sip.stringify(msg) rebuilds
// the whole message from those objects.
import { createRequire } from 'node:module';
import { PROXY_RECORD_ROUTE_URI, PROXY_VIA_BRANCH } from './proxy-edits.mjs';

const require = createRequire(import.meta.url);

/** @returns {Promise<import('./types.mjs').Adapter>} */
export async function load() {
  const sip = require('sip');
  const version = require('sip/package.json').version;
  return {
    id: 'sip',
    name: `sip ${version}`,
    // sip.parse calls s.toString('binary'); a string skips the conversion, its cheapest input.
    input: 'string',
    serializes: true,
    prepare: (bytes) => bytes.toString('latin1'),
    parse: (s) => sip.parse(s),
    read(m, out) {
      const h = m.headers;
      out.branch = h.via[0].params.branch;
      out.fromTag = h.from.params.tag;
      out.toTag = h.to.params.tag;
      out.callId = h['call-id'];
      out.cseq = h.cseq.seq;
      out.method = h.cseq.method;
      const mf = h['max-forwards'];
      out.maxForwards = mf === undefined ? undefined : +mf;
      const route = h.route;
      out.routes = route === undefined ? 0 : route.length;
      // sip parses Route URIs with sip.parseUri: touch a field of the result.
      out.routeUri = route === undefined ? undefined : route[0].uri.host;
      const contact = h.contact;
      out.contact = contact === undefined || contact === '*' ? undefined : contact[0].uri;
      out.ruriHost = m.method === undefined ? undefined : sip.parseUri(m.uri).host;
    },
    forward(m, out) {
      const h = m.headers;
      if (m.method !== undefined) {
        h.via.unshift({
          version: '2.0', protocol: 'UDP', host: '198.51.100.1', port: 5060,
          params: { branch: PROXY_VIA_BRANCH, rport: null },
        });
        const rr = { uri: PROXY_RECORD_ROUTE_URI, params: {} };
        if (h['record-route'] === undefined) h['record-route'] = [rr];
        else h['record-route'].unshift(rr);
        h['max-forwards'] = String(out.maxForwards - 1);
        if (out.routes > 0) h.route.shift();
      } else {
        h.via.shift();
      }
      return Buffer.from(sip.stringify(m), 'latin1');
    },
  };
}
