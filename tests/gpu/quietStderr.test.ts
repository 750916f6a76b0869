// A host app's stderr stays its own: opening a device and running a kernel prints nothing there.
// Dawn prints two "artificially reduced" limit warnings natively while it enumerates adapters;
// src/gpu/nativeStderr.node.ts keeps them off a terminal or a pipe (not off a file or a socket,
// see there). Node's own child pipes are sockets, so bash gives the child a real pipe here, as
// `2>&1 | tee` or a terminal would.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const VITE_NODE = join(process.cwd(), 'node_modules', '.bin', 'vite-node');

describe('stderr', () => {
  it('stays empty through initDevice() and one kernel', { timeout: 60_000 }, () => {
    const script = 'exec "$0" "$1" "$2" 2> >(cat >&2)';
    const fixture = 'tests/fixtures/quietDevice.ts';
    const r = spawnSync('bash', ['-c', script, process.execPath, VITE_NODE, fixture], {
      encoding: 'utf8',
      timeout: 50_000,
    });
    expect(r.stdout.trim()).toBe('[0,2,0,4]');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});
