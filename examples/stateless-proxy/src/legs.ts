import { createLeg as buildLeg } from '@sipway/example-kit';
import type { Leg, LegLogger } from '@sipway/sip-leg';
import type { LegConfig } from './config.js';
import { CONNECTION_DEFAULTS, streamLegOptions } from './connection-limits.js';
import type { ConnectionLimitsConfig } from './connection-limits.js';

/** Builds the leg for one config entry, with the proxy's connection limits on connection-oriented legs. */
export function createLeg(config: LegConfig, logger: LegLogger, limits: ConnectionLimitsConfig = CONNECTION_DEFAULTS): Promise<Leg> {
  return buildLeg(config, logger, streamLegOptions(limits, config.transport));
}
