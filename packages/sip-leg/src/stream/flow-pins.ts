/**
 * Registered flows stay open while idle (RFC 5626 §4.4, §5.2): a client behind NAT or a browser
 * can only be reached over the connection it registered on, so the idle close of its leg must
 * not cut that connection while the binding lives. A registrar pins the connection until the
 * binding expires; the leg's idle timer asks {@link FlowPin.held} before closing.
 */
export class FlowPin {
  #until = 0;
  readonly #enabled: boolean;

  /** `enabled` false (leg option `keepRegisteredFlows: false`): pins are ignored. */
  constructor(enabled: boolean) {
    this.#enabled = enabled;
  }

  /** Keep open until this epoch ms (0 unpins); a later call replaces the time. */
  keepOpenUntil(epochMs: number): void {
    if (this.#enabled && Number.isFinite(epochMs)) this.#until = epochMs;
  }

  /** True while pinned: an idle connection stays open. */
  get held(): boolean {
    return this.#until > Date.now();
  }
}
