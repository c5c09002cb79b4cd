import { describe, expect, it } from 'vitest';
import type { Leg } from '@sipway/sip-leg';
import { DestinationPolicy } from '../src/destination-policy.js';
import { parseCidr } from '../src/address-ranges.js';

// The destination policy on its own: which addresses a request may be sent to (issue 9 item 6).
function policy(addresses: string[], options: { allow?: string[]; allowPrivate?: boolean } = {}): DestinationPolicy {
  const legs = addresses.map((address) => ({ address, host: address }) as unknown as Leg);
  return new DestinationPolicy({ legs: () => legs, ...options });
}

describe('DestinationPolicy, a proxy on a public address (192.0.2.10, 2001:db8::10)', () => {
  const p = policy(['192.0.2.10', '2001:db8::10']);
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.0.9', 'loopback'],
    ['::1', 'loopback'],
    ['[::1]', 'loopback'],
    ['0:0:0:0:0:0:0:1', 'loopback'],
    ['0::1', 'loopback'],
    ['::0001', 'loopback'],
    ['FE80::1', 'link-local'],
    ['febf::1', 'link-local'],
    ['fdff:ffff::1', 'private'],
    ['::ffff:10.0.0.1', 'private'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['169.254.169.254', 'link-local'],
    ['fe80::1', 'link-local'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.254', 'private'],
    ['192.168.1.1', 'private'],
    ['fd00::1', 'private'],
    ['fc00::1', 'private'],
    ['192.0.2.10', 'own-address'],
    ['2001:DB8:0::10', 'own-address'],
    ['0.0.0.0', 'broadcast-or-multicast'],
    ['::', 'broadcast-or-multicast'],
    ['255.255.255.255', 'broadcast-or-multicast'],
    ['224.0.0.1', 'broadcast-or-multicast'],
    ['ff02::1', 'broadcast-or-multicast'],
  ])('%s is refused as %s', (address, why) => {
    expect(p.check(address)).toBe(why);
  });

  it.each(['198.51.100.7', '172.32.0.1', '172.15.255.255', '192.0.2.11', '2001:db8::11', '169.255.0.1', 'fec0::1', 'fbff::1', '::2', '::1:1', '11.0.0.1', '192.169.0.1'])('%s (public) is allowed', (address) => {
    expect(p.check(address)).toBeUndefined();
  });

  it('a binding naming the address opens loopback, private and own addresses, never broadcast or multicast', () => {
    for (const a of ['127.0.0.1', '::1', '10.1.2.3', '169.254.1.1', '192.0.2.10']) expect(p.check(a, true)).toBeUndefined();
    expect(p.check('255.255.255.255', true)).toBe('broadcast-or-multicast');
    expect(p.check('ff05::2', true)).toBe('broadcast-or-multicast');
  });
});

describe('DestinationPolicy, legs inside special blocks', () => {
  it('a loopback leg opens its loopback block (own address included), per family', () => {
    const p = policy(['127.0.0.1']);
    expect(p.check('127.0.0.1')).toBeUndefined();
    expect(p.check('127.0.0.42')).toBeUndefined();
    expect(p.check('::1')).toBe('loopback');
    expect(policy(['::1']).check('::1')).toBeUndefined();
    expect(policy(['::1']).check('127.0.0.1')).toBe('loopback');
  });

  it('a private leg opens its own block only; its own address stays refused', () => {
    const p = policy(['10.0.0.5']);
    expect(p.check('10.9.9.9')).toBeUndefined();
    expect(p.check('10.0.0.5')).toBe('own-address');
    expect(p.check('192.168.1.1')).toBe('private');
    expect(p.check('172.20.0.1')).toBe('private');
    expect(p.check('127.0.0.1')).toBe('loopback');
    const v6 = policy(['fd12::5']);
    expect(v6.check('fdff::1')).toBeUndefined();
    expect(v6.check('fe80::1')).toBe('link-local');
  });

  it('a wildcard leg makes every local address ours but opens no block', () => {
    const p = policy(['0.0.0.0', '::']);
    expect(p.isOwnAddress('127.0.0.1')).toBe(true);
    expect(p.check('127.0.0.1')).toBeDefined();
    expect(p.check('198.51.100.7')).toBeUndefined();
  });
});

describe('DestinationPolicy options', () => {
  it('allowPrivate opens RFC 1918 and fc00::/7, not loopback or link-local', () => {
    const p = policy(['192.0.2.10'], { allowPrivate: true });
    for (const a of ['10.1.1.1', '172.16.5.5', '192.168.0.1', 'fd00::9']) expect(p.check(a)).toBeUndefined();
    expect(p.check('127.0.0.1')).toBe('loopback');
    expect(p.check('169.254.169.254')).toBe('link-local');
  });

  it('allowDestinations opens exactly its blocks (IPv4 and IPv6), own addresses too', () => {
    const p = policy(['192.0.2.10'], { allow: ['127.0.0.0/30', '::1', '192.0.2.10/32', 'fe80::/64'] });
    expect(p.check('127.0.0.3')).toBeUndefined();
    expect(p.check('127.0.0.4')).toBe('loopback');
    expect(p.check('::1')).toBeUndefined();
    expect(p.check('192.0.2.10')).toBeUndefined();
    expect(p.check('fe80::1')).toBeUndefined();
    expect(p.check('fe80:0:0:1::1')).toBe('link-local');
  });

  it('rejects a bad CIDR naming it', () => {
    expect(() => policy([], { allow: ['10.0.0.0/33'] })).toThrow(/10\.0\.0\.0\/33/);
    expect(() => policy([], { allow: ['example.com'] })).toThrow(/example\.com/);
    expect(parseCidr('2001:db8::/129')).toBeUndefined();
    expect(parseCidr('::ffff:10.0.0.1/8')).toEqual({ address: '10.0.0.1', prefix: 8, type: 'ipv4' });
  });
});
