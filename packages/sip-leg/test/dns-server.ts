/**
 * A tiny authoritative DNS server for resolver tests, built on dns-packet over UDP on loopback.
 *
 * It serves A, AAAA, SRV and NAPTR records from an in-memory zone. A name with no records at all
 * is answered NXDOMAIN; a name with records but none of the asked type gets an empty NOERROR
 * answer (NODATA). Names can also be set to never answer (so the client times out) or to answer
 * SERVFAIL. Every question is logged so tests can count what the resolver asked and when.
 *
 * Only loopback addresses may appear in answers: a test cannot make the code under test send
 * anything outside 127.0.0.0/8 and ::1.
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { isIPv4, isIPv6 } from 'node:net';
import * as dnsPacket from 'dns-packet';
import type { Answer, NaptrData, SrvData } from 'dns-packet';

type RecordType = 'A' | 'AAAA' | 'SRV' | 'NAPTR';

interface ZoneRecord {
  type: RecordType;
  ttl: number;
  data: string | SrvData | NaptrData;
}

export interface LoggedQuery {
  name: string;
  type: string;
}

const RCODE_SERVFAIL = 2;
const RCODE_NXDOMAIN = 3;
const FLAG_AA = 1 << 10;

function norm(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}

function assertLoopback(address: string): void {
  const v4 = isIPv4(address) && address.startsWith('127.');
  const v6 = isIPv6(address) && (address === '::1' || address === '0:0:0:0:0:0:0:1');
  if (!v4 && !v6) throw new Error(`test DNS server serves loopback addresses only, not ${address}`);
}

export class TestDnsServer {
  readonly queries: LoggedQuery[] = [];
  private readonly zone = new Map<string, ZoneRecord[]>();
  private readonly silentNames = new Set<string>();
  private readonly servfailNames = new Set<string>();

  private constructor(
    private readonly socket: Socket,
    /** `host:port` as `Resolver#setServers` takes it. */
    readonly address: string,
  ) {
    socket.on('message', (msg, rinfo) => this.onMessage(msg, rinfo));
  }

  /** Starts a server on an ephemeral UDP port of 127.0.0.1 (or ::1). */
  static async start(host: '127.0.0.1' | '::1' = '127.0.0.1'): Promise<TestDnsServer> {
    const socket = createSocket(host === '::1' ? 'udp6' : 'udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, host, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    const { port } = socket.address();
    return new TestDnsServer(socket, host === '::1' ? `[::1]:${port}` : `127.0.0.1:${port}`);
  }

  a(name: string, address: string, ttl = 300): this {
    if (!isIPv4(address)) throw new Error(`not IPv4: ${address}`);
    assertLoopback(address);
    return this.add(name, { type: 'A', ttl, data: address });
  }

  aaaa(name: string, address: string, ttl = 300): this {
    if (!isIPv6(address)) throw new Error(`not IPv6: ${address}`);
    assertLoopback(address);
    return this.add(name, { type: 'AAAA', ttl, data: address });
  }

  srv(name: string, data: { priority: number; weight: number; port: number; target: string }, ttl = 300): this {
    return this.add(name, { type: 'SRV', ttl, data });
  }

  naptr(
    name: string,
    data: { order: number; preference: number; flags?: string; services: string; regexp?: string; replacement: string },
    ttl = 300,
  ): this {
    return this.add(name, {
      type: 'NAPTR',
      ttl,
      data: { flags: 's', regexp: '', ...data },
    });
  }

  /** Questions for this name (of this type, if given) are never answered: the client times out. */
  silent(name: string, type?: string): this {
    this.silentNames.add(type === undefined ? norm(name) : `${norm(name)} ${type}`);
    return this;
  }

  /** Questions for this name (of this type, if given) get SERVFAIL. */
  servfail(name: string, type?: string): this {
    this.servfailNames.add(type === undefined ? norm(name) : `${norm(name)} ${type}`);
    return this;
  }

  /** Removes every record of a name (it becomes NXDOMAIN). */
  remove(name: string): this {
    this.zone.delete(norm(name));
    return this;
  }

  /** How often a question for `name` (and `type`, if given) was received. */
  count(name: string, type?: string): number {
    const n = norm(name);
    return this.queries.filter((q) => q.name === n && (type === undefined || q.type === type)).length;
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.socket.close(() => resolve()));
  }

  private add(name: string, record: ZoneRecord): this {
    const key = norm(name);
    const list = this.zone.get(key) ?? [];
    list.push(record);
    this.zone.set(key, list);
    return this;
  }

  private onMessage(msg: Buffer, rinfo: RemoteInfo): void {
    let query: dnsPacket.DecodedPacket;
    try {
      query = dnsPacket.decode(msg);
    } catch {
      return;
    }
    const question = query.questions?.[0];
    if (!question) return;
    const name = norm(question.name);
    this.queries.push({ name, type: question.type });
    const typed = `${name} ${question.type}`;
    if (this.silentNames.has(name) || this.silentNames.has(typed)) return;

    const records = this.zone.get(name);
    let rcode = 0;
    const answers: Answer[] = [];
    if (this.servfailNames.has(name) || this.servfailNames.has(typed)) rcode = RCODE_SERVFAIL;
    else if (!records) rcode = RCODE_NXDOMAIN;
    else {
      for (const r of records) {
        if (r.type !== question.type) continue;
        answers.push({ type: r.type, name: question.name, ttl: r.ttl, class: 'IN', data: r.data } as Answer);
      }
    }
    const response = dnsPacket.encode({
      id: query.id ?? 0,
      type: 'response',
      flags: FLAG_AA | dnsPacket.RECURSION_DESIRED | rcode,
      questions: [question],
      answers,
    });
    this.socket.send(response, rinfo.port, rinfo.address);
  }
}
