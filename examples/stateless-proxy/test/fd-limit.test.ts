import { describe, expect, it } from 'vitest';
import { CONNECTION_DEFAULTS, fdLimitWarning } from '../src/connection-limits.js';

describe('the start-up check of the descriptor limit', () => {
  it('warns when the stream legs may hold more sockets than the process may open', () => {
    expect(fdLimitWarning(CONNECTION_DEFAULTS, 2, 1024)).toMatch(/file descriptor limit 1024 \(ulimit -n\) is below what the stream legs may use \(2 × max-connections 1024 \+ 32\)/);
    expect(fdLimitWarning(CONNECTION_DEFAULTS, 2, 1_048_576)).toBeUndefined();
    expect(fdLimitWarning(CONNECTION_DEFAULTS, 0, 64)).toBeUndefined();
    expect(fdLimitWarning({ ...CONNECTION_DEFAULTS, maxConnections: 100 }, 1, 200)).toBeUndefined();
  });
});
