import type { Binding, LocationRecord } from '../../binding.js';

/** What the first line of a snapshot says it is; a file that says otherwise is not ours. */
export const SNAPSHOT_FORMAT = 'sipway.location-snapshot';
export const SNAPSHOT_FORMAT_VERSION = 1;

/** The snapshot as JSON text: one object, records as the store holds them (versions included). */
export function encodeSnapshot(records: Iterable<LocationRecord>, writtenAt: number): string {
  return JSON.stringify({ format: SNAPSHOT_FORMAT, formatVersion: SNAPSHOT_FORMAT_VERSION, writtenAt, records: [...records] });
}

/** Bytes of JSON per chunk of {@link encodeSnapshotChunks}. */
const CHUNK = 64 * 1024;

/**
 * The same text as {@link encodeSnapshot}, in chunks of about 64 KiB, each record serialized
 * when its chunk is asked for: a writer that awaits between chunks lets the event loop run, so
 * 100 000 records no longer block it for one long `JSON.stringify`. Records are visited live, so
 * each appears as it was at some moment of the write (records are replaced, never mutated, by
 * the table); what changes meanwhile is in the next snapshot.
 */
export function* encodeSnapshotChunks(records: Iterable<LocationRecord>, writtenAt: number): Generator<string> {
  let chunk = `{"format":${JSON.stringify(SNAPSHOT_FORMAT)},"formatVersion":${SNAPSHOT_FORMAT_VERSION},"writtenAt":${JSON.stringify(writtenAt)},"records":[`;
  let first = true;
  for (const record of records) {
    chunk += first ? JSON.stringify(record) : `,${JSON.stringify(record)}`;
    first = false;
    if (chunk.length >= CHUNK) {
      yield chunk;
      chunk = '';
    }
  }
  yield `${chunk}]}`;
}

/** A snapshot's content is not what {@link encodeSnapshot} writes. */
export class SnapshotFormatError extends Error {}

/**
 * Parses and checks a snapshot, then drops what lapsed while the store was down (bindings with
 * `expires <= now`, records with `expiresAt <= now`, as `expire(now)` would). Every field is
 * checked, so a hand-edited or truncated file fails here rather than in the registrar later.
 */
export function decodeSnapshot(text: string, now: number): { records: LocationRecord[]; dropped: number } {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new SnapshotFormatError(`not JSON (${(error as Error).message})`);
  }
  if (!isObject(data) || data.format !== SNAPSHOT_FORMAT) throw new SnapshotFormatError(`not a ${SNAPSHOT_FORMAT} file`);
  if (data.formatVersion !== SNAPSHOT_FORMAT_VERSION) {
    throw new SnapshotFormatError(`format version ${String(data.formatVersion)} is not ${SNAPSHOT_FORMAT_VERSION} (written by another sipway version?)`);
  }
  if (!Array.isArray(data.records)) throw new SnapshotFormatError('records is not a list');
  const seen = new Set<string>();
  const records: LocationRecord[] = [];
  let dropped = 0;
  data.records.forEach((value: unknown, i: number) => {
    const record = checkRecord(value, `record ${i}`);
    if (seen.has(record.aor)) throw new SnapshotFormatError(`record ${i}: AOR ${record.aor} appears twice`);
    seen.add(record.aor);
    const live = record.bindings.filter((b) => b.expires > now);
    if (record.expiresAt <= now) {
      dropped += record.bindings.length;
      return;
    }
    dropped += record.bindings.length - live.length;
    records.push({ ...record, bindings: live });
  });
  return { records, dropped };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function fail(where: string, what: string): never {
  throw new SnapshotFormatError(`${where}: ${what}`);
}

function finite(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

function checkRecord(value: unknown, where: string): LocationRecord {
  if (!isObject(value)) fail(where, 'not an object');
  if (typeof value.aor !== 'string' || value.aor === '') fail(where, 'aor is not a non-empty string');
  if (!finite(value.expiresAt)) fail(where, 'expiresAt is not a number');
  if (!Number.isSafeInteger(value.version) || (value.version as number) < 1) fail(where, 'version is not a positive integer');
  if (!Array.isArray(value.bindings)) fail(where, 'bindings is not a list');
  const bindings = value.bindings.map((b: unknown, j: number) => checkBinding(b, `${where} (${value.aor as string}) binding ${j}`));
  return { aor: value.aor, bindings, expiresAt: value.expiresAt, version: value.version as number };
}

function checkBinding(value: unknown, where: string): Binding {
  if (!isObject(value)) fail(where, 'not an object');
  if (typeof value.contact !== 'string' || value.contact === '') fail(where, 'contact is not a non-empty string');
  if (!finite(value.expires)) fail(where, 'expires is not a number');
  if (typeof value.callId !== 'string') fail(where, 'callId is not a string');
  if (!Number.isSafeInteger(value.cseq) || (value.cseq as number) < 0) fail(where, 'cseq is not an integer >= 0');
  if (!finite(value.updated)) fail(where, 'updated is not a number');
  if (value.q !== undefined && (!finite(value.q) || value.q < 0 || value.q > 1)) fail(where, 'q is not a number in 0..1');
  if (value.params !== undefined) {
    if (!isObject(value.params)) fail(where, 'params is not an object');
    for (const [k, v] of Object.entries(value.params)) if (v !== null && typeof v !== 'string') fail(where, `param ${k} is not a string or null`);
  }
  if (value.source !== undefined) {
    const s = value.source;
    if (!isObject(s) || typeof s.transport !== 'string' || typeof s.address !== 'string' || !Number.isInteger(s.port)) fail(where, 'source is not { transport, address, port }');
    if (s.local !== undefined && typeof s.local !== 'string') fail(where, 'source.local is not a string');
  }
  return value as unknown as Binding;
}
