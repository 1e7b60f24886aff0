// Hostile file names, links and download URLs: whatever a run plants in /data
// and whatever a caller puts in a name or a URL, the file tools and /files
// serve exactly the conversation's own regular files.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { describe, test } from 'node:test';

import { assertOutcome, b64, hostileCase, parseFileUrl, textOf, useHostileServer } from './lib/harness.mjs';
import { mintSignature, rawGet, rawPost } from './lib/raw.mjs';

const suite = useHostileServer('files');
const now = () => Math.floor(Date.now() / 1000);

describe('links planted in /data', { concurrency: 2 }, () => {
  hostileCase(suite, 'symlinks and hard links pointing anywhere are never listed, read, written through or downloaded', async (c) => {
    const other = suite.bystander.conversation.sandbox;
    // Links made now, before the run swaps these files for symlinks (a link handed out earlier must not follow).
    const victim = await c.upload('victim.txt', 'regular for now');
    const inner = await c.upload('dir/inner.txt', 'regular for now');
    const { run } = await c.run('bash', [
      // The host path of /data (a run can read it in mountinfo) and so the sandbox root's.
      "HOSTDATA=$(awk '$5 == \"/data\" {print $4}' /proc/self/mountinfo)",
      'ROOT=$(dirname "$HOSTDATA")',
      'ln -s /etc/passwd passwd',
      'ln -s /proc/1/environ environ',
      'ln -s /var/run/docker.sock engine.sock',
      'ln -s "$ROOT" sandbox-root',
      `ln -s "$ROOT/${other}" other`,
      `ln -s "$ROOT/${other}/notes.txt" other-notes.txt`,
      'ln -s .. up',
      'ln -s . loop',
      'rm victim.txt && ln -s /etc/passwd victim.txt',
      `rm -r dir && ln -s "$ROOT/${other}/data" dir`,
      'ln /etc/hostname hard-hostname 2>/dev/null; echo "hard link out of /data: $?"',
      'echo own > own.txt && ln own.txt own-hard.txt && echo "hard link inside /data: $?"',
    ].join('\n'));
    assertOutcome(run, { exitCode: 0, stdout: 'hard link out of /data: 1\nhard link inside /data: 0\n' });
    assert.deepEqual(run.files.map((f) => f.name), ['own-hard.txt', 'own.txt'], 'only regular files come back');
    assert.deepEqual((await c.list()).files.map((f) => f.name), ['own-hard.txt', 'own.txt']);

    // Refused either while walking the path or by the final file-type check (a link is never a regular file).
    const symlinkRefusal = /a component is a symbolic link or not a directory|not a regular file/;
    for (const path of ['passwd', 'environ', 'engine.sock', 'other-notes.txt', 'victim.txt', 'other/notes.txt',
      'dir/blob.bin', `sandbox-root/${other}/notes.txt`, 'up/x', 'loop/own.txt']) {
      assert.match(c.failed(await c.call('read_file', { path })), symlinkRefusal, `read_file ${path}`);
    }
    for (const filename of ['other/pwned.txt', 'victim.txt', 'sandbox-root/pwned.txt', 'dir/pwned.txt', 'passwd']) {
      assert.match(c.failed(await c.call('upload_file', { filename, content: b64('pwned') })), symlinkRefusal, `upload_file ${filename}`);
    }
    assert.match(c.failed(await c.call('list_files', { path: 'other' })), symlinkRefusal);
    assert.match(c.failed(await c.call('delete_file', { path: 'other/notes.txt' })), symlinkRefusal);

    // Download links: handed out before the swap, and genuine signatures minted for the link paths.
    const exp = now() + 600;
    const sandbox = c.sandbox;
    for (const url of [victim.url, inner.url]) assert.equal((await fetch(url)).status, 404, url);
    for (const path of ['passwd', 'environ', 'engine.sock', 'other-notes.txt', 'other/notes.txt', 'loop/own.txt']) {
      const reply = await rawGet(suite.server, `/files/${sandbox}/${path}?exp=${exp}&sig=${mintSignature(suite.server, sandbox, path, exp)}`);
      assert.equal(reply.status, 404, `a genuinely signed link to ${path}`);
    }
    const own = await fetch(run.files.find((f) => f.name === 'own-hard.txt').url);
    assert.equal(await own.text(), 'own\n', 'a hard link inside /data is just another of its files');

    // Deleting a link removes the link, never what it points to (the bystander check proves it).
    for (const path of ['other', 'dir', 'sandbox-root', 'other-notes.txt', 'up', 'loop']) {
      c.succeeded(await c.call('delete_file', { path }));
    }
  });
});

describe('names and URLs', { concurrency: 3 }, () => {
  hostileCase(suite, 'path traversal in upload, read, delete and list names is refused with the reason', async (c) => {
    const refusals = [
      ['../escape.txt', /must not contain '\.\.'/],
      ['../../etc/passwd', /must not contain '\.\.'/],
      ['a/../../b', /must not contain '\.\.'/],
      ['..', /must not contain '\.\.'/],
      ['/etc/passwd', /no leading '\/'/],
      ['a/./b', /must not contain '\.' components/],
      ['a//b', /empty components/],
      ['x\0y', /NUL or control characters/],
      ['line\nbreak', /NUL or control characters/],
      ['x'.repeat(256), /at most 255 bytes/],
      [`${'d/'.repeat(600)}f`, /at most 1024 bytes/],
    ];
    for (const [name, reason] of refusals) {
      for (const [tool, args] of [['upload_file', { filename: name, content: b64('x') }], ['read_file', { path: name }],
        ['delete_file', { path: name }]]) {
        const text = c.failed(await c.call(tool, args));
        assert.match(text, reason, `${tool} ${JSON.stringify(name)}`);
      }
    }
    assert.match(c.failed(await c.call('list_files', { path: '../' })), /must not contain '\.\.'/);
    assert.deepEqual((await c.list()).files, [], 'nothing was written');
    assert.deepEqual(readdirSync(suite.server.dir).sort(), ['sandboxes', 'server.log'], 'nothing appeared beside the sandbox root');
  });

  hostileCase(suite, 'encoded, backslashed and look-alike names are just names inside /data', async (c) => {
    const names = ['..\\..\\win.txt', '%2e%2e%2fetc%2fpasswd', '%2e%2e', '\u2025\u2215etc\u2215passwd', '\uff0e\uff0e\uff0fx',
      'e\u0301.txt', '\u202egnp.exe', '..evil', '...'];
    for (const name of names) await c.upload(name, `content of ${name}`);
    const listed = (await c.list()).files.map((f) => f.name).sort();
    assert.deepEqual(listed, [...names].sort());
    for (const name of names) {
      const read = await c.call('read_file', { path: name });
      assert.equal(textOf(read), `content of ${name}`, `read_file ${JSON.stringify(name)}`);
    }
    // Seen from inside, they are single entries of /data.
    const { run } = await c.run('python', 'import os\nprint(len(os.listdir("/data")))');
    assertOutcome(run, { exitCode: 0, stdout: `${names.length}\n` });
    assert.deepEqual(readdirSync(suite.server.root).filter((n) => !/^[0-9a-f]{32}$/.test(n))
      .filter((n) => !['.images', '.instance-id', '.last-use', '.server.lock', '.state'].includes(n)), [],
      'only conversation directories (and the server\'s own bookkeeping) exist in the sandbox root');
  });

  hostileCase(suite, 'traversal and encoding tricks in /files URLs never serve anything but the signed file', async (c) => {
    const file = await c.upload('a.txt', 'the signed file');
    const { sandbox, exp, sig } = parseFileUrl(file.url);
    const q = `?exp=${exp}&sig=${sig}`;
    const cases = [
      [`/files/${sandbox}/a.txt${q}`, 200],                      // the real link
      [`/files/${sandbox}/../../etc/passwd${q}`, 400],
      [`/files/${sandbox}/%2e%2e/%2e%2e/etc/passwd${q}`, 400],
      [`/files/${sandbox}/..%2f..%2fetc%2fpasswd${q}`, 400],
      [`/files/${sandbox}/%2fetc%2fpasswd${q}`, 400],
      [`/files/${sandbox}//etc/passwd${q}`, 400],
      [`/files/${sandbox}/a.txt%00.png${q}`, 400],
      [`/files/${sandbox}/./a.txt${q}`, 400],
      [`/files/${sandbox}/..\\..\\etc\\passwd${q}`, 403],
      [`/files/${sandbox}/%252e%252e/a.txt${q}`, 403],
      [`/files/${sandbox}/%C0%AE%C0%AE/a.txt${q}`, 403],
      [`/files/${sandbox}/a.txt/${q}`, 403],
      [`/files/${sandbox}/A.TXT${q}`, 403],
      [`/files/${sandbox.toUpperCase()}/a.txt${q}`, 404],          // not a sandbox name: no such route
      [`/files/../${sandbox}/a.txt${q}`, 404],
      [`/files/${sandbox}${q}`, 404],
    ];
    for (const [target, status] of cases) {
      const reply = await rawGet(suite.server, target);
      assert.equal(reply.status, status, `GET ${target}`);
      if (status !== 200) assert.ok(!reply.body.includes('the signed file'), `GET ${target} served the file`);
    }
    // A genuine signature does not make a bad path acceptable: the path is checked first.
    for (const path of ['../../etc/passwd', '/etc/passwd', '../a.txt']) {
      const minted = mintSignature(suite.server, sandbox, path, exp);
      const reply = await rawGet(suite.server, `/files/${sandbox}/${path}?exp=${exp}&sig=${minted}`);
      assert.equal(reply.status, 400, `a genuinely signed ${path}`);
    }
  });

  hostileCase(suite, 'tampered, expired, far-future, malformed and borrowed signatures are refused', async (c) => {
    const mine = await c.upload('a.txt', 'mine');
    await c.upload('b.txt', 'also mine');
    const { sandbox, exp, sig } = parseFileUrl(mine.url);
    const theirs = parseFileUrl((await suite.bystander.conversation.list()).files.find((f) => f.name === 'notes.txt').url);
    const flip = (s, i) => s.slice(0, i) + (s[i] === '0' ? '1' : '0') + s.slice(i + 1);
    const get = async (target) => (await rawGet(suite.server, target)).status;
    const at = (path, e, s) => `/files/${sandbox}/${path}?exp=${e}&sig=${s}`;
    const refused = [
      ['one hex digit changed', at('a.txt', exp, flip(sig, 0))],
      ['last hex digit changed', at('a.txt', exp, flip(sig, 63))],
      ['upper-case hex', at('a.txt', exp, sig.toUpperCase())],
      ['cut short', at('a.txt', exp, sig.slice(0, 32))],
      ['one digit more', at('a.txt', exp, `${sig}0`)],
      ['empty', at('a.txt', exp, '')],
      ['missing', `/files/${sandbox}/a.txt?exp=${exp}`],
      ['no query', `/files/${sandbox}/a.txt`],
      ['expiry moved one second', at('a.txt', Number(exp) + 1, sig)],
      ['expiry far in the future', at('a.txt', '32503680000', sig)],
      ['expiry past int64', at('a.txt', '99999999999999999999999', sig)],
      ['negative expiry', at('a.txt', '-1', sig)],
      ['expiry with a sign', at('a.txt', `+${exp}`, sig)],
      ['expiry in exponent form', at('a.txt', '1e12', sig)],
      ['expiry with a space', at('a.txt', `%20${exp}`, sig)],
      ['a forged expiry before the real one', `/files/${sandbox}/a.txt?exp=32503680000&sig=${sig}&exp=${exp}`],
      ['another file\'s signature in the same conversation', at('b.txt', exp, sig)],
      ['another conversation\'s signature on my path', at('a.txt', theirs.exp, theirs.sig)],
      ['my signature on another conversation\'s path', `/files/${theirs.sandbox}/notes.txt?exp=${exp}&sig=${sig}`],
      ['another conversation\'s signature with my sandbox', `/files/${sandbox}/notes.txt?exp=${theirs.exp}&sig=${theirs.sig}`],
      ['a signature made with another key', at('a.txt', exp, mintSignature({ fileSecret: 'x'.repeat(64) }, sandbox, 'a.txt', exp))],
    ];
    for (const [label, target] of refused) assert.equal(await get(target), 403, label);
    // Genuine signatures (minted with the server's FILE_SECRET): valid until they expire, then 410.
    const past = now() - 10;
    assert.equal(await get(at('a.txt', past, mintSignature(suite.server, sandbox, 'a.txt', past))), 410, 'genuinely expired');
    assert.equal(await get(at('a.txt', exp, sig)), 200, 'the link as issued still works');
  });

  hostileCase(suite, 'uploads past MAX_BODY_BYTES get 413; one just under it is stored; bad base64 is a tool error', async (c) => {
    const upload = (bytes, id = 1) => JSON.stringify({
      jsonrpc: '2.0', id, method: 'tools/call',
      params: { name: 'upload_file', arguments: { conversationId: c.id, filename: 'big.bin', content: b64(bytes) } },
    });
    // The hostile servers allow 1 MiB bodies (MAX_BODY_BYTES): base64 makes 3 bytes 4.
    const over = await rawPost(suite.server, upload(Buffer.alloc(800 * 1024, 1)), 'MCP-Protocol-Version: 2025-06-18\r\n');
    assert.equal(over.status, 413);
    const under = Buffer.alloc(700 * 1024, 2);
    const stored = await c.upload('big.bin', under);
    assert.equal(stored.size, under.length);
    const bad = await c.call('upload_file', { filename: 'bad.bin', content: '!!!not base64!!!' });
    assert.match(c.failed(bad), /content is not valid base64/);
    assert.deepEqual((await c.list()).files.map((f) => [f.name, f.size]), [['big.bin', under.length]]);
  });

  // Found by this suite (fixed in server/http/request_framing.cpp): a declared 10 GiB body held a
  // worker until the body deadline instead of being refused before it arrives.
  test('a 10 GiB Content-Length is refused with 413 before any body arrives', async () => {
    const started = Date.now();
    const huge = await rawPost(suite.server, Buffer.alloc(0), 'MCP-Protocol-Version: 2025-06-18\r\nContent-Length: 10737418240\r\n',
      { contentLength: false });
    assert.equal(huge.status, 413);
    assert.ok(huge.closed, 'the connection is closed: its body is never read');
    assert.ok(Date.now() - started < 3000, `answered at once, not at the body deadline: ${Date.now() - started} ms`);
  });
});
