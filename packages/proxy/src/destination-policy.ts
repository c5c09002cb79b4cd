/**
 * Where the proxy may send a request: never to broadcast or multicast, and to loopback,
 * link-local, private ranges and its own addresses only when it has a reason to (a leg in
 * that block, a binding naming the address, an explicit allow-list). This keeps a SIP proxy
 * from being a way into services next to it (a Redis on 127.0.0.1, a metadata service on
 * 169.254.169.254).
 */
import { networkInterfaces } from 'node:os';
import type { Leg } from '@sipway/sip-leg';
import { CidrList, plainAddress, specialRange } from './address-ranges.js';
import { isBroadcastOrMulticast } from './forbidden-address.js';
import { canonicalHost } from '@sipway/sip-message';

/** Why a destination is refused; undefined when it may be used. */
export type DestinationRefusal = 'broadcast-or-multicast' | 'forbidden' | 'loopback' | 'link-local' | 'private' | 'own-address';

export interface DestinationPolicyOptions {
  /** The legs (read on every check: legs may start after the proxy is made). */
  legs: () => readonly Leg[];
  /** Blocks always allowed (besides broadcast/multicast, never allowed). */
  allow?: readonly string[] | undefined;
  /** Allow every RFC 1918 / fc00::/7 address (default false). */
  allowPrivate?: boolean | undefined;
  /** Extra addresses to refuse (the proxy's `forbiddenDestination`). */
  forbidden?: ((address: string) => boolean) | undefined;
}

function isWildcardAddress(address: string): boolean {
  return address === '0.0.0.0' || address === '::';
}

/**
 * Decides per destination address.
 * @see RFC 6890 (special-purpose address blocks), RFC 3261 §26.1.5 (denial of service, amplification)
 */
export class DestinationPolicy {
  readonly #legs: () => readonly Leg[];
  readonly #allow: CidrList;
  readonly #allowPrivate: boolean;
  readonly #forbidden: ((address: string) => boolean) | undefined;
  #legKey = '';
  #lastLegs: readonly Leg[] | undefined;
  #lastLength = -1;
  #ownAddresses = new Set<string>();
  #openBlocks = new Set<string>();

  constructor(options: DestinationPolicyOptions) {
    this.#legs = options.legs;
    this.#allow = new CidrList(options.allow ?? [], 'allowDestinations');
    this.#allowPrivate = options.allowPrivate ?? false;
    this.#forbidden = options.forbidden;
  }

  /**
   * Undefined when the proxy may send to `address`, else why not. `bindingNamed`: the address
   * came from (or is named by) a registered binding, which opens restricted ranges; it never
   * opens broadcast or multicast.
   */
  check(address: string, bindingNamed = false): DestinationRefusal | undefined {
    if (isBroadcastOrMulticast(address)) return 'broadcast-or-multicast';
    if (this.#forbidden?.(address) === true) return 'forbidden';
    const a = plainAddress(address);
    if (a === undefined || bindingNamed) return undefined;
    this.#refresh();
    const special = specialRange(a.address);
    // A development proxy on loopback reaches its loopback peers, its own address included.
    if (special?.kind === 'loopback' && this.#openBlocks.has(special.name)) return undefined;
    const own = this.#ownAddresses.size > 0 && this.#ownAddresses.has(a.type === 'ipv6' ? canonicalHost(a.address) : a.address);
    if (!own) {
      if (special === undefined) return undefined;
      if (this.#openBlocks.has(special.name)) return undefined;
      if (special.kind === 'private' && this.#allowPrivate) return undefined;
    }
    // Only restricted addresses get here: the allow-list is asked for them alone.
    if (this.#allow.has(a.address)) return undefined;
    return own ? 'own-address' : special!.kind;
  }

  /** True when the address is one of the proxy's own (a leg's address or IP host, or any local address behind a wildcard leg). */
  isOwnAddress(address: string): boolean {
    const a = plainAddress(address);
    if (a === undefined) return false;
    this.#refresh();
    return this.#ownAddresses.has(a.type === 'ipv6' ? canonicalHost(a.address) : a.address);
  }

  #refresh(): void {
    const legs = this.#legs();
    // The leg list rarely changes: compare it by identity first, and only then by content.
    if (legs === this.#lastLegs && legs.length === this.#lastLength) return;
    this.#lastLegs = legs;
    this.#lastLength = legs.length;
    let key = '';
    for (const leg of legs) key += `${leg.address}|${leg.host}|`;
    if (key === this.#legKey) return;
    this.#legKey = key;
    const own = new Set<string>();
    const open = new Set<string>();
    let wildcard = false;
    for (const leg of legs) {
      for (const text of [leg.address, leg.host]) {
        const a = plainAddress(text);
        if (a === undefined) continue;
        if (isWildcardAddress(a.address)) {
          wildcard = true;
          continue;
        }
        own.add(a.type === 'ipv6' ? canonicalHost(a.address) : a.address);
        const special = specialRange(a.address);
        if (special !== undefined) open.add(special.name);
      }
    }
    if (wildcard) {
      // Bound to every interface: every local address is ours, but no block is opened by it.
      for (const list of Object.values(networkInterfaces())) {
        for (const i of list ?? []) {
          const a = plainAddress(i.address.replace(/%.*$/, ''));
          if (a !== undefined) own.add(a.type === 'ipv6' ? canonicalHost(a.address) : a.address);
        }
      }
    }
    this.#ownAddresses = own;
    this.#openBlocks = open;
  }
}
