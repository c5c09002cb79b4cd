// Adapter for `jssip` 3.13.8: Parser.parseMessage(string, ua) parses the start line, Via (top),
// From, To, Call-ID, CSeq, Contact, Record-Route, Max-Forwards eagerly with its PEG grammar;
// other headers through message.parseHeader(name) on demand. Route has no list rule, so Route
// values go through its Record_Route rule (same syntax, RFC 3261 §20.30/§20.34).
// It cannot serialize an edited message: IncomingMessage.toString() returns the received text.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** @returns {Promise<import('./types.mjs').Adapter>} */
export async function load() {
  const Parser = require('jssip/lib/Parser');
  const Grammar = require('jssip/lib/Grammar');
  const version = require('jssip/package.json').version;
  return {
    id: 'jssip',
    name: `jssip ${version}`,
    input: 'string',
    serializes: false,
    prepare: (bytes) => bytes.toString('utf8'),
    // The ua argument is only stored on requests (for replying); the parser never reads it.
    parse: (s) => Parser.parseMessage(s, undefined),
    read(m, out) {
      out.branch = m.via_branch;
      out.fromTag = m.from_tag;
      out.toTag = m.to_tag;
      out.callId = m.call_id;
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
