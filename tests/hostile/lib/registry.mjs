// A package registry of the test's own for the installers of the runners: a PEP 503 simple index
// with one wheel and an npm registry with one package document and its tarball, both built here
// (a tiny pure-Python package and a tiny CommonJS package). Served by the egress fixture's HTTP
// server on the host, so a run reaches it only through the real egress proxy. Nothing comes from
// outside this machine.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The package both registries hold, and what its code answers. */
export const DEMO = {
  python: { name: 'mcp_sandbox_demo', project: 'mcp-sandbox-demo', version: '1.0.0' },
  npm: { name: 'mcp-sandbox-demo', version: '1.0.0' },
  greeting: (who) => `hello ${who} from mcp-sandbox-demo 1.0.0`,
};

// A wheel is a zip with the package, METADATA, WHEEL and a RECORD of every file's sha256
// (PEP 427); Python's zipfile writes it.
const WHEEL_BUILDER = String.raw`
import base64, hashlib, sys, zipfile
out, name, version = sys.argv[1:4]
info = f"{name}-{version}.dist-info"
files = {
    f"{name}/__init__.py": f'__version__ = "{version}"\ndef greet(who):\n    return f"hello {{who}} from mcp-sandbox-demo {{__version__}}"\n',
    f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name.replace('_', '-')}\nVersion: {version}\n",
    f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: mcp-sandbox-hostile\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
}
def digest(text):
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
record = "".join(f"{path},{digest(text)},{len(text.encode())}\n" for path, text in files.items()) + f"{info}/RECORD,,\n"
with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
    for path, text in {**files, f"{info}/RECORD": record}.items():
        z.writestr(path, text)
`;

export class PackageRegistry {
  /** `baseUrl`: how runs name the registry's host, e.g. http://allowed.egress.test */
  constructor(workDir, baseUrl) {
    this.dir = mkdtempSync(join(workDir, 'registry-'));
    this.baseUrl = baseUrl;
  }

  async build() {
    const { name, version } = DEMO.python;
    this.wheelName = `${name}-${version}-py3-none-any.whl`;
    const wheelPath = join(this.dir, this.wheelName);
    await run('python3', ['-c', WHEEL_BUILDER, wheelPath, name, version]);
    this.wheel = readFileSync(wheelPath);

    const npm = DEMO.npm;
    const packageDir = join(this.dir, 'npm', 'package');
    mkdirSync(packageDir, { recursive: true });
    writeFileSync(join(packageDir, 'package.json'), JSON.stringify({ name: npm.name, version: npm.version, main: 'index.js' }));
    writeFileSync(join(packageDir, 'index.js'),
      `exports.version = ${JSON.stringify(npm.version)};\n` +
      `exports.greet = (who) => \`hello \${who} from mcp-sandbox-demo \${exports.version}\`;\n`);
    this.tarballName = `${npm.name}-${npm.version}.tgz`;
    const tarballPath = join(this.dir, this.tarballName);
    await run('tar', ['-czf', tarballPath, '-C', join(this.dir, 'npm'), 'package']);
    this.tarball = readFileSync(tarballPath);
    return this;
  }

  // The package document of an npm registry at /<prefix>/ (the tarball's URL names the prefix).
  #packument(prefix) {
    const npm = DEMO.npm;
    return {
      name: npm.name,
      'dist-tags': { latest: npm.version },
      versions: {
        [npm.version]: {
          name: npm.name,
          version: npm.version,
          main: 'index.js',
          dist: {
            tarball: `${this.baseUrl}/${prefix}/${npm.name}/-/${this.tarballName}`,
            integrity: `sha512-${createHash('sha512').update(this.tarball).digest('base64')}`,
            shasum: createHash('sha1').update(this.tarball).digest('hex'),
          },
        },
      },
    };
  }

  /**
   * The settings that point each runner's installer at this registry (INSTALL_ENVIRONMENT). npm
   * and Bun read the same package documents, each under a path of its own (/npm/, /bun/), so the
   * request log tells their installs apart.
   */
  installEnvironment(host) {
    return [
      `python:PIP_INDEX_URL=${this.baseUrl}/simple/`,
      `python:PIP_TRUSTED_HOST=${host}`,
      `javascript:npm_config_registry=${this.baseUrl}/npm/`,
      `typescript:npm_config_registry=${this.baseUrl}/bun/`,
    ].join(',');
  }

  /** The paths an installer asks for, in order, to install the demo package. */
  expectedRequests(installer) {
    if (installer === 'pip') return [`/simple/${DEMO.python.project}/`, `/wheels/${this.wheelName}`];
    const prefix = { npm: '/npm', bun: '/bun' }[installer];
    return [`${prefix}/${DEMO.npm.name}`, `${prefix}/${DEMO.npm.name}/-/${this.tarballName}`];
  }

  /** Answers a registry request; false when `url` is none of the registry's. */
  serve(url, response) {
    const python = DEMO.python;
    const send = (type, body) => {
      response.writeHead(200, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
      response.end(body);
    };
    if (url === `/simple/${python.project}/`) {
      const sha256 = createHash('sha256').update(this.wheel).digest('hex');
      send('text/html', `<!DOCTYPE html><html><body><a href="/wheels/${this.wheelName}#sha256=${sha256}">${this.wheelName}</a></body></html>\n`);
    } else if (url === `/wheels/${this.wheelName}`) {
      send('application/octet-stream', this.wheel);
    } else if (/^\/(npm|bun)\//.test(url) && url.slice(4) === `/${DEMO.npm.name}`) {
      send('application/json', JSON.stringify(this.#packument(url.slice(1, 4))));
    } else if (/^\/(npm|bun)\//.test(url) && url.slice(4) === `/${DEMO.npm.name}/-/${this.tarballName}`) {
      send('application/octet-stream', this.tarball);
    } else if (/^\/(simple|wheels|npm|bun)\//.test(url)) {
      // What the registry does not have: the 404 each installer reports.
      response.writeHead(404, { 'Content-Type': 'application/json' });
      response.end(JSON.stringify({ error: 'Not found' }));
    } else {
      return false;
    }
    return true;
  }
}

/** The requests the fixture logged ("<method> <path> <host>") for one installer's registry paths. */
export function registryRequests(requests, installer) {
  const prefixes = { pip: ['/simple/', '/wheels/'], npm: ['/npm/'], bun: ['/bun/'] }[installer];
  return requests.filter((line) => prefixes.some((prefix) => line.split(' ')[1].startsWith(prefix)));
}
