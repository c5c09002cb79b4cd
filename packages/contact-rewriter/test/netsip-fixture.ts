import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Shape of test/vectors/netsip-vectors.json, printed by test/vectors/make-vectors.pl. */
export interface NetSipVectors {
  generator: string;
  netSipVersion: string;
  base32: { dataHex: string; text: string }[];
  keySets: NetSipKeySet[];
}
export interface NetSipLeg {
  key: string;
  contact: string;
}
export interface NetSipKeySet {
  name: string;
  keyHex: string;
  macKeyHex: string;
  legs: NetSipLeg[];
  outsider: NetSipLeg;
  extraLeg: NetSipLeg;
  crypt: { dataHex: string; add2mac: string | null; seedHex: string; outputHex: string }[];
  vectors: {
    contact: string;
    legIn: number;
    legOut: number;
    seedHex: string;
    token: string;
    decodes: { legIn: number; legOut: number | null; contact: string | null; leg?: number | null }[];
    otherLegListDecodes: boolean;
    lowerCaseDecodes: boolean;
    paddingChanged?: string;
    paddingChangedDecodes?: boolean;
  }[];
}

export const vectorsDir = fileURLToPath(new URL('./vectors/', import.meta.url));
export const makeVectorsScript = `${vectorsDir}make-vectors.pl`;
export const committedVectors = JSON.parse(
  readFileSync(`${vectorsDir}netsip-vectors.json`, 'utf8'),
) as NetSipVectors;

export const hex = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h, 'hex'));
export const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
