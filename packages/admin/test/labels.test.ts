import { describe, expect, it } from 'vitest';
import { legLabel, methodLabel, statusClass } from '../src/index.js';

describe('labels', () => {
  it('names a leg transport:address:port, IPv6 in brackets', () => {
    expect(legLabel({ transport: 'udp', address: '127.0.0.1', port: 5060 })).toBe('udp:127.0.0.1:5060');
    expect(legLabel({ transport: 'tcp', address: '::1', port: 5070 })).toBe('tcp:[::1]:5070');
    expect(legLabel(undefined)).toBe('unknown');
    expect(legLabel({ transport: 'udp' })).toBe('unknown');
  });

  it('keeps registered methods and maps anything else to other', () => {
    for (const m of ['INVITE', 'ACK', 'BYE', 'CANCEL', 'REGISTER', 'OPTIONS', 'SUBSCRIBE', 'NOTIFY', 'REFER', 'MESSAGE', 'PUBLISH', 'INFO', 'PRACK', 'UPDATE']) {
      expect(methodLabel(m)).toBe(m);
    }
    // Methods are case-sensitive (RFC 3261 §7.1): `invite` is not INVITE.
    expect(methodLabel('invite')).toBe('other');
    expect(methodLabel('X'.repeat(200))).toBe('other');
    expect(methodLabel(undefined)).toBe('other');
  });

  it('classes status codes 1xx..6xx and nothing else (RFC 3261 §7.2)', () => {
    expect(statusClass(100)).toBe('1xx');
    expect(statusClass(183)).toBe('1xx');
    expect(statusClass(200)).toBe('2xx');
    expect(statusClass(302)).toBe('3xx');
    expect(statusClass(487)).toBe('4xx');
    expect(statusClass(503)).toBe('5xx');
    expect(statusClass(699)).toBe('6xx');
    expect(statusClass(99)).toBe('other');
    expect(statusClass(700)).toBe('other');
    expect(statusClass(200.5)).toBe('other');
    expect(statusClass('200')).toBe('other');
  });
});
