import { writeUtf8 } from './bytes.js';
import type { SipMessage } from './message.js';

/**
 * Serializes a message. An unmodified message is returned as the exact bytes it was parsed
 * from (a view, no copy). A modified one is rebuilt canonically (CRLF line ends): untouched
 * header lines are copied byte for byte in their original order, edited and created ones are
 * written as `Name: value, value`, and Content-Length is added if it was missing, since stream
 * transports need it (RFC 3261 §18.3, §20.14).
 */
export function serializeMessage(message: SipMessage): Buffer {
  const buf = message.buffer;
  if (!message.edited) return buf.subarray(message.start, message.end);

  // Segments: number pairs are [start, end) ranges of buf, strings are new text, buffers are
  // copied lines with their line ends made CRLF. Adjacent ranges merge and adjacent texts join,
  // so a proxy's edits cost a handful of copies.
  const parts: (string | number | Buffer)[] = [];
  let size = 0;
  let text = '';
  const flushText = () => {
    if (text.length > 0) {
      parts.push(text);
      size += Buffer.byteLength(text, 'utf8');
      text = '';
    }
  };
  const pushRange = (s: number, e: number) => {
    if (text.length > 0) flushText();
    const n = parts.length;
    if (n >= 2 && typeof parts[n - 1] === 'number' && parts[n - 1] === s) parts[n - 1] = e;
    else parts.push(s, e);
    size += e - s;
  };

  const startLineEnd = message.startLineEnd;
  if (message.isRequest && message.startLineEdited) text += `${message.method} ${message.uri} ${message.version}\r\n`;
  else if (buf[startLineEnd] === 13) pushRange(message.start, startLineEnd + 2);
  else text += `${buf.toString('utf8', message.start, startLineEnd)}\r\n`;

  let hasContentLength = false;
  const fields = message.fields;
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i] as (typeof fields)[number];
    if (f.removed) continue;
    if (f.key === 'content-length') hasContentLength = true;
    if (f.dirty) {
      const values = f.values ?? [];
      if (values.length === 0) continue;
      text += `${f.name(buf)}: ${values.length === 1 ? values[0] : values.join(', ')}\r\n`;
    } else if (buf[f.lineEnd - 2] !== 13) {
      // A line that came with a bare LF (RFC 3261 §7.5 tolerance) goes out with CRLF, so a
      // rebuilt message never mixes line ends.
      flushText();
      const crlf = Buffer.from(buf.toString('latin1', f.lineStart, f.lineEnd).replace(/\r?\n/g, '\r\n'), 'latin1');
      parts.push(crlf);
      size += crlf.length;
    } else pushRange(f.lineStart, f.lineEnd);
  }
  const newBody = message.newBody;
  if (!hasContentLength) text += `Content-Length: ${newBody === undefined ? message.end - message.bodyStart : newBody.length}\r\n`;
  // The blank line and an untouched body are one more range of the original bytes.
  if (newBody === undefined && message.bodyStart - message.headersEnd === 2) pushRange(message.headersEnd, message.end);
  else {
    text += '\r\n';
    flushText();
    const body = newBody ?? buf.subarray(message.bodyStart, message.end);
    if (body.length > 0) parts.push(body);
    size += body.length;
  }
  flushText();

  const out = Buffer.allocUnsafe(size);
  let o = 0;
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i] as string | number | Buffer;
    if (typeof p === 'number') {
      const e = parts[++i] as number;
      o += buf.copy(out, o, p, e);
    } else if (typeof p === 'string') o += writeUtf8(out, p, o);
    else o += p.copy(out, o);
  }
  return o === size ? out : out.subarray(0, o);
}
