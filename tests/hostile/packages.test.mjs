// A call's dependencies, installed by each runner's own installer (pip, npm, Bun) through the
// real egress proxy under the `packages` policy, from a registry the test serves on this machine
// (lib/registry.mjs: a PEP 503 index with a wheel and an npm registry, both built here), into
// the conversation's /data/.packages; the next run uses them without any network, the same
// dependencies again install nothing. Then what a `packages` run cannot reach, as for the
// allowlist (lib/egress-cases.mjs). The registry's name exists only in the proxy's resolver.
import assert from 'node:assert/strict';
import { after, before, describe } from 'node:test';

import { ALLOWED_HOST, EgressFixture, PRIVATE_HOST } from './lib/egress.mjs';
import { dnsCase, noRouteCase, proxyCase } from './lib/egress-cases.mjs';
import { assertOutcome, hostileCase, textOf, useHostileServer } from './lib/harness.mjs';
import { DEMO, PackageRegistry, registryRequests } from './lib/registry.mjs';
import { WORK } from './lib/server.mjs';

const fixture = new EgressFixture();
const registry = new PackageRegistry(WORK, `http://${ALLOWED_HOST}`);
before(async () => {
  await registry.build();
  fixture.handlers.push((url, response) => registry.serve(url, response));
  await fixture.start();
}, { timeout: 60_000 });
const egressSettings = fixture.serverSettings();
delete egressSettings.EGRESS_ALLOWLIST;
const suite = useHostileServer('packages', {
  settings: {
    ...egressSettings,
    EGRESS_POLICIES: 'packages',
    // The registry for every language, and for python also a name that resolves to another
    // container's private address (refused by the address check, as for the allowlist).
    EGRESS_PACKAGE_HOSTS: ['python', 'javascript', 'typescript'].map((language) => `${language}=${ALLOWED_HOST}`)
      .concat(`python=${PRIVATE_HOST}`).join(','),
    INSTALL_ENVIRONMENT: registry.installEnvironment(ALLOWED_HOST),
  },
});
after(() => fixture.stop(), { timeout: 60_000 });

/** Names in a listing or a run's files that lie under /data/.packages. */
const packageFiles = (files) => files.map((file) => file.name).filter((name) => name.startsWith('.packages'));

/**
 * One installer end to end in a fresh conversation: install through the proxy and use at once,
 * use in a later run without dependencies or egress, and ask again without a new install.
 */
function installCase(language, { installer, spec, program, installed }) {
  hostileCase(suite, `${language}: a dependency installs through the proxy, the next run uses it without network, asking again installs nothing`, async (c) => {
    const greeting = DEMO.greeting(language);
    const first = await c.run(language, program(language), { dependencies: [spec] });
    assertOutcome(first.run, { exitCode: 0, stdout: `${greeting}\n`, timedOut: false });
    const { install } = first.run;
    assert.deepEqual({ packages: install.packages, cached: install.cached, exitCode: install.exitCode, timedOut: install.timedOut },
      { packages: [spec], cached: false, exitCode: 0, timedOut: false }, `install: ${JSON.stringify(install)}`);
    assert.match(install.stdout + install.stderr, installed);
    assert.ok(Number.isInteger(install.durationMs) && install.durationMs > 0, `durationMs: ${install.durationMs}`);
    // The program's own file is the run's only new file; the packages are not listed.
    assert.deepEqual(first.run.files.map((file) => file.name), ['out.txt']);
    // Through the proxy, by the registry's name: the package's document, then the package.
    const fetched = registryRequests(fixture.requests, installer);
    assert.deepEqual(fetched, registry.expectedRequests(installer).map((path) => `GET ${path} ${ALLOWED_HOST}`));

    // A later run without dependencies and without egress finds them.
    const later = await c.run(language, program(language));
    assertOutcome(later.run, { exitCode: 0, stdout: `${greeting}\n` });
    assert.equal(later.run.install, undefined);

    // The same dependency again: nothing installed, nothing asked of the registry.
    const again = await c.run(language, program(language), { dependencies: [spec] });
    assertOutcome(again.run, { exitCode: 0, stdout: `${greeting}\n` });
    assert.deepEqual(again.run.install, { packages: [spec], cached: true });
    assert.match(again.text, /already installed in this conversation/);
    assert.deepEqual(registryRequests(fixture.requests, installer), fetched);

    assert.deepEqual(packageFiles((await c.list()).files), [], 'list_files does not show /data/.packages');
  });
}

describe('dependencies through the packages policy', { concurrency: 3 }, () => {
  installCase('python', {
    installer: 'pip',
    spec: `${DEMO.python.name}==${DEMO.python.version}`,
    program: (who) => [
      `import ${DEMO.python.name} as demo`,
      `open("out.txt", "w").write(demo.__version__)`,
      `print(demo.greet("${who}"))`,
    ].join('\n'),
    installed: new RegExp(`Successfully installed ${DEMO.python.name}-${DEMO.python.version}`),
  });

  // An ES module: Node's import ignores NODE_PATH and finds the packages through /node_modules.
  installCase('javascript', {
    installer: 'npm',
    spec: `${DEMO.npm.name}@${DEMO.npm.version}`,
    program: (who) => [
      `import { greet, version } from "${DEMO.npm.name}";`,
      'import { writeFileSync } from "node:fs";',
      'writeFileSync("out.txt", version);',
      `console.log(greet("${who}"));`,
    ].join('\n'),
    installed: /added 1 package/,
  });

  installCase('typescript', {
    installer: 'bun',
    spec: `${DEMO.npm.name}@${DEMO.npm.version}`,
    program: (who) => [
      `import { greet, version } from "${DEMO.npm.name}";`,
      'import { writeFileSync } from "node:fs";',
      'writeFileSync("out.txt", version as string);',
      `console.log(greet("${who}") as string);`,
    ].join('\n'),
    installed: new RegExp(`installed ${DEMO.npm.name}@${DEMO.npm.version}`),
  });

  // What a run with the packages policy cannot reach: as for the allowlist, with the registry
  // (and the privately resolving name) as the only allowed hosts.
  proxyCase(suite, fixture, 'packages');
  noRouteCase(suite, fixture, 'packages');
  dnsCase(suite, fixture, 'packages');
});

// After the installs above, not beside them: its requests would be in their registry's log.
hostileCase(suite, 'a package the registry does not have: the install fails with the installer\'s own message and the program does not run', async (c) => {
  const missing = [
    { language: 'python', spec: 'mcp-sandbox-missing==2.0', says: /No matching distribution found for mcp-sandbox-missing==2\.0/ },
    { language: 'javascript', spec: 'mcp-sandbox-missing@2.0.0', says: new RegExp(`404 Not Found - GET http://${ALLOWED_HOST.replace(/\./g, '\\.')}/npm/mcp-sandbox-missing`) },
  ];
  for (const { language, spec, says } of missing) {
    const program = language === 'python' ? 'open("ran.txt", "w").write("ran")' : 'require("node:fs").writeFileSync("ran.txt", "ran")';
    const result = await c.call('run_code', { language, code: program, dependencies: [spec] });
    const text = c.failed(result);
    assert.match(text, new RegExp(`^The dependencies \\(${spec.replace(/[.]/g, '\\.')}\\) could not be installed, so the program did not run: the installer exited with code 1; see its output below\\.`));
    assert.match(text, says);
    const { install } = result.structuredContent;
    assert.deepEqual({ cached: install.cached, exitCode: install.exitCode, timedOut: install.timedOut },
      { cached: false, exitCode: 1, timedOut: false });
    assert.match(install.stderr, says);
    assert.deepEqual(result.structuredContent.files, []);
  }
  assert.deepEqual((await c.list()).files.map((file) => file.name).filter((name) => name === 'ran.txt'), [],
    'the program never ran');
  // Each installer asked the registry, through the proxy, and was told there is no such package.
  assert.deepEqual(fixture.requests.filter((line) => line.includes('/mcp-sandbox-missing')),
    [`GET /simple/mcp-sandbox-missing/ ${ALLOWED_HOST}`, `GET /npm/mcp-sandbox-missing ${ALLOWED_HOST}`]);
});

hostileCase(suite, 'dependencies for a runner without an installer are refused before anything runs', async (c) => {
  const result = await c.call('run_code', { language: 'bash', code: 'touch ran.txt', dependencies: ['left-pad'] });
  assert.equal(result.isError, true);
  assert.match(textOf(result), /the bash runner does not install dependencies \(runners that do: .*javascript.*\)/);
  assert.deepEqual((await c.list()).files, []);
});
