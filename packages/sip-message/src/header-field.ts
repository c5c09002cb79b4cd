import { latin1, utf8 } from './bytes.js';
import { isListHeader } from './header-names.js';
import { splitHeaderValues } from './split.js';

/**
 * One header field line (with its continuation lines) of a message. Offsets point into the
 * message's bytes; a created or edited field carries its values instead. Fields are plain
 * records so parsing allocates one small object per line and decodes nothing.
 */
export class HeaderField {
  /** Lower-case long name: the lookup key. */
  readonly key: string;
  /** Offsets into the message buffer; -1 for a created field. */
  lineStart: number;
  lineEnd: number;
  nameEnd: number;
  valueStart: number;
  valueEnd: number;
  /** A continuation line (RFC 3261 §7.3.1 folding) belongs to this field. */
  folded: boolean;
  /** Name as given by whoever created the field. */
  createdName: string | undefined;
  /** Decoded value, once asked for. */
  value: string | undefined;
  /** Split list values, once asked for, or set by an edit. */
  values: string[] | undefined;
  /** Must be written from `values` instead of copied from the original bytes. */
  dirty: boolean;
  removed: boolean;
  /** The field's bytes are all ASCII, so latin1 decoding gives the same string, faster. */
  ascii: boolean;

  constructor(key: string, lineStart: number, nameEnd: number, valueStart: number, valueEnd: number, lineEnd: number) {
    this.key = key;
    this.lineStart = lineStart;
    this.nameEnd = nameEnd;
    this.valueStart = valueStart;
    this.valueEnd = valueEnd;
    this.lineEnd = lineEnd;
    this.folded = false;
    this.createdName = undefined;
    this.value = undefined;
    this.values = undefined;
    this.dirty = false;
    this.removed = false;
    this.ascii = false;
  }

  static created(key: string, name: string, values: string[]): HeaderField {
    const f = new HeaderField(key, -1, -1, -1, -1, -1);
    f.createdName = name;
    f.values = values;
    f.value = values.join(', ');
    f.dirty = true;
    return f;
  }

  text(buf: Buffer): string {
    let v = this.value;
    if (v === undefined) {
      v = this.ascii ? latin1(buf, this.valueStart, this.valueEnd) : utf8(buf, this.valueStart, this.valueEnd);
      // Folding is LWS: each line break plus the whitespace after it stands for one space.
      if (this.folded) v = v.replace(/[ \t]*\r?\n[ \t]+/g, ' ');
      this.value = v;
    }
    return v;
  }

  list(buf: Buffer): string[] {
    let vs = this.values;
    if (vs === undefined) {
      const text = this.text(buf);
      vs = isListHeader(this.key) ? splitHeaderValues(text) : [text];
      this.values = vs;
    }
    return vs;
  }

  name(buf: Buffer): string {
    return this.createdName ?? latin1(buf, this.lineStart, this.nameEnd);
  }
}
