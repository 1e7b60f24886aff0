// Cases that need a feature this build may not have yet are grouped by that
// feature and skipped — reported as skipped, never as passed — until the
// server's `serve --help` names the setting that comes with it. When the
// branch that adds a feature is merged, its cases run by themselves.
// HOSTILE_REQUIRE_ALL=1 turns every such skip into a failure (for CI once all are merged).
import { execFileSync } from 'node:child_process';

import { BIN } from './server.mjs';

const help = execFileSync(BIN, ['serve', '--help'], { encoding: 'utf8' });

const FEATURES = {
  capacity: { setting: 'MAX_CONCURRENT_RUNS', what: 'run admission, queue and rate limits (branch capacity)' },
  quota: { setting: 'SANDBOX_QUOTA_MB', what: 'per-conversation disk quotas (branch quota)' },
  faults: { setting: 'SHUTDOWN_GRACE_SECONDS', what: 'orphan reaper, SIGTERM drain, engine faults (branch faults)' },
};

export function has(feature) {
  return help.includes(FEATURES[feature].setting);
}

/** `skip` option for a test needing `feature`: false when present, else the reason. */
export function unless(feature) {
  if (has(feature)) return false;
  const reason = `needs ${FEATURES[feature].what}: this build has no ${FEATURES[feature].setting}`;
  if (process.env.HOSTILE_REQUIRE_ALL === '1') throw new Error(`HOSTILE_REQUIRE_ALL=1 but a case ${reason}`);
  return reason;
}
