// A real pino logger whose JSON lines the test reads back.
import { Writable } from 'node:stream';
import { pino } from 'pino';
import type { Logger } from 'pino';

/** A pino logger at `level` writing to memory; `lines` are its parsed JSON lines, in order. */
export function pinoCapture(level: 'debug' | 'info' | 'warn' | 'error' = 'debug'): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level }, stream), lines };
}
