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

  // Segments: numbers are [start, end) pairs into buf, strings are new text, buffers are
  // copied lines with their line ends made CRLF.
  const parts: (string | number | Buffer)[] = [];
  let size = 0;
  const pushRange = (s: number, e: number) => {
    const n = parts.length;
    // Adjacent untouched lines are copied in one go.
    if (n >= 2 && typeof parts[n - 1] === 'number' && parts[n - 1] === s) parts[n - 1] = e;
    else parts.push(s, e);
    size += e - s;
  };
  const pushText = (t: string) => {
    parts.push(t);
    size += Buffer.byteLength(t, 'utf8');
  };

  const lineAfterStart = buf[message.startLineEnd] === 10 ? message.startLineEnd + 1 : message.startLineEnd + 2;
  if (message.isRequest && message.startLineEdited) pushText(`${message.method} ${message.uri} ${message.version}\r\n`);
  else if (buf[message.startLineEnd] === 13) pushRange(message.start, lineAfterStart);
  else pushText(`${buf.toString('utf8', message.start, message.startLineEnd)}\r\n`);

  let hasContentLength = false;
  for (const f of message.fields) {
    if (f.removed) continue;
    if (f.key === 'content-length') hasContentLength = true;
    if (f.dirty) {
      const values = f.values ?? [];
      if (values.length === 0) continue;
      pushText(`${f.name(buf)}: ${values.join(', ')}\r\n`);
    } else if (buf[f.lineEnd - 2] !== 13) {
      // A line that came with a bare LF (RFC 3261 §7.5 tolerance) goes out with CRLF, so a
      // rebuilt message never mixes line ends.
      const crlf = Buffer.from(buf.toString('latin1', f.lineStart, f.lineEnd).replace(/\r?\n/g, '\r\n'), 'latin1');
      parts.push(crlf);
      size += crlf.length;
    } else pushRange(f.lineStart, f.lineEnd);
  }
  const body = message.newBody ?? buf.subarray(message.bodyStart, message.end);
  if (!hasContentLength) pushText(`Content-Length: ${body.length}\r\n`);
  pushText('\r\n');
  size += body.length;

  const out = Buffer.allocUnsafe(size);
  let o = 0;
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i] as string | number | Buffer;
    if (typeof p === 'string') o += out.write(p, o, 'utf8');
    else if (typeof p !== 'number') o += p.copy(out, o);
    else {
      const e = parts[++i] as number;
      o += buf.copy(out, o, p, e);
    }
  }
  o += body.length === 0 ? 0 : Buffer.from(body.buffer, body.byteOffset, body.byteLength).copy(out, o);
  return out.subarray(0, o);
}
