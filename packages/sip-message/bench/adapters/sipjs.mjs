// Adapter for `sip.js` 0.21.2 (onsip): its core Parser (Core.Parser.parseMessage(string, logger)),
// reached through the package's core barrel. Same design as jssip (PEG grammar, eager for Via,
// From, To, Call-ID, CSeq, Contact, Record-Route, Max-Forwards). Its grammar has no Route rule
// (message.parseHeader('route') fails and deletes the header), so Route values go through
// its Record_Route rule. It cannot serialize an edited incoming message: toString() returns
// the received text.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** @returns {Promise<import('./types.mjs').Adapter>} */
export async function load() {
  const { Parser, LoggerFactory, Grammar } = await import('sip.js/lib/core/index.js');
  const version = require('sip.js/package.json').version;
  // parseMessage needs a Logger (it warns on malformed input): a factory with default settings.
  const logger = new LoggerFactory().getLogger('sip.bench');
  return {
    id: 'sipjs',
    name: `sip.js ${version}`,
    input: 'string',
    serializes: false,
    prepare: (bytes) => bytes.toString('utf8'),
    parse: (s) => Parser.parseMessage(s, logger),
    read(m, out) {
      out.branch = m.viaBranch;
      out.fromTag = m.fromTag;
      out.toTag = m.toTag;
      out.callId = m.callId;
      out.cseq = m.cseq;
      out.method = m.parseHeader('cseq').method;
      out.maxForwards = m.parseHeader('max-forwards');
      const routes = m.getHeaders('route');
      let n = 0;
      let first;
      for (const v of routes) {
        const list = Grammar.parse(v, 'Record_Route');
        if (first === undefined) first = list[0].parsed.uri.host;
        n += list.length;
      }
      out.routes = n;
      out.routeUri = first;
      out.contact = m.hasHeader('contact') ? m.parseHeader('contact').uri : undefined;
      out.ruriHost = m.ruri ? m.ruri.host : undefined;
    },
    forward: null,
  };
}
