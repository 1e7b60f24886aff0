// Programs trying to get out: to the network, the engine, the server's
// secrets, root, other processes. Each attempt is made from inside a run and
// its exact failure is asserted. Nothing is ever sent off the machine: with
// the network off there is no route, and the addresses tried are TEST-NET
// (192.0.2.0/24, never routed) and the engine's own bridge gateway.
import assert from 'node:assert/strict';
import { describe } from 'node:test';

import { bridgeGateway } from './lib/engine.mjs';
import { assertOutcome, hostileCase, textOf, useHostileServer } from './lib/harness.mjs';

const suite = useHostileServer('escape');

describe('network, engine and secrets', { concurrency: 3 }, () => {
  hostileCase(suite, 'network off: only lo exists, and connects to TEST-NET and the bridge gateway find no route', async (c) => {
    const gateway = (await bridgeGateway()) ?? '172.17.0.1';
    const { run } = await c.run('python', [
      'import errno, os, socket',
      'print("interfaces", " ".join(sorted(os.listdir("/sys/class/net"))))',
      'def attempt(label, make, act):',
      '    s = make()',
      '    s.settimeout(3)',
      '    try:',
      '        act(s)',
      '        print(label, "SUCCEEDED")',
      '    except OSError as e:',
      '        print(label, errno.errorcode.get(e.errno, e.errno))',
      `for host in ["192.0.2.1", "${gateway}"]:`,
      '    attempt("tcp " + host, socket.socket, lambda s: s.connect((host, 80)))',
      '    attempt("udp " + host, lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM), lambda s: s.sendto(b"x", (host, 9)))',
      'attempt("tcp6 2001:db8::1", lambda: socket.socket(socket.AF_INET6), lambda s: s.connect(("2001:db8::1", 80)))',
      'try:',
      '    socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)',
      '    print("raw SUCCEEDED")',
      'except OSError as e:',
      '    print("raw", errno.errorcode[e.errno])',
    ].join('\n'));
    assertOutcome(run, {
      exitCode: 0,
      stdout: [
        'interfaces lo',
        'tcp 192.0.2.1 ENETUNREACH', 'udp 192.0.2.1 ENETUNREACH',
        `tcp ${gateway} ENETUNREACH`, `udp ${gateway} ENETUNREACH`,
        'tcp6 2001:db8::1 ENETUNREACH',
        'raw EPERM', '',
      ].join('\n'),
    });
    const refused = await c.call('run_code', { language: 'bash', code: 'echo hi', network: true });
    assert.equal(refused.isError, true);
    assert.match(textOf(refused), /network access is disabled by the operator's policy \(ALLOW_NETWORK\)/);
  });

  hostileCase(suite, 'no engine socket, no server secret and no conversation id is visible from inside', async (c) => {
    const { server } = suite;
    const { run } = await c.run('python', [
      'import glob, os, stat',
      'sockets = []',
      'for top in ["/run", "/var", "/tmp", "/data", "/etc", "/home", "/root", "/srv", "/mnt", "/opt"]:',
      '    for d, dirs, files in os.walk(top, onerror=lambda e: None):',
      '        for name in dirs + files:',
      '            try:',
      '                if stat.S_ISSOCK(os.lstat(os.path.join(d, name)).st_mode): sockets.append(os.path.join(d, name))',
      '            except OSError: pass',
      'print("sockets", sockets)',
      'seen = []',
      'for path in glob.glob("/proc/[0-9]*/environ") + glob.glob("/proc/[0-9]*/cmdline") + ["/proc/self/mountinfo", "/etc/hostname", "/etc/hosts"]:',
      '    try: seen.append(open(path, "rb").read().decode("utf-8", "replace"))',
      '    except OSError: pass',
      'seen.append("\\n".join(f"{k}={v}" for k, v in os.environ.items()))',
      'print("\\n----\\n".join(seen))',
    ].join('\n'));
    assertOutcome(run, { exitCode: 0, truncated: false });
    assert.match(run.stdout, /^sockets \[\]\n/, 'no unix socket anywhere a run can look');
    assert.match(run.stdout, /FILE_BASE_URL=/, 'the dump did include the run\'s environment');
    for (const [label, secret] of [['the API token', server.token], ['FILE_SECRET', server.fileSecret],
      ['the conversation id', c.id], ['the name MCP_API_TOKEN', 'MCP_API_TOKEN'], ['the name FILE_SECRET', 'FILE_SECRET'],
      ['DOCKER_HOST', 'DOCKER_HOST']]) {
      assert.ok(!run.stdout.includes(secret), `${label} is visible inside the run`);
    }
  });
});

describe('privileges and processes', { concurrency: 3 }, () => {
  hostileCase(suite, 'no capabilities, no new privileges: setuid, mount, unshare, chroot, mknod and setuid bits all fail', async (c) => {
    const { run } = await c.run('python', [
      'import ctypes, errno, os, shutil, subprocess',
      'libc = ctypes.CDLL(None, use_errno=True)',
      'status = dict(l.split(":\\t", 1) for l in open("/proc/self/status").read().splitlines() if ":\\t" in l)',
      'for key in ["Uid", "Gid", "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb", "NoNewPrivs", "Seccomp"]:',
      '    print(key, status[key].split()[0] if key in ("Uid", "Gid") else status[key].strip())',
      'def attempt(label, act):',
      '    try:',
      '        act()',
      '        print(label, "SUCCEEDED")',
      '    except OSError as e:',
      '        print(label, errno.errorcode[e.errno])',
      'def call(fn, *args):',
      '    def act():',
      '        if fn(*args) != 0:',
      '            e = ctypes.get_errno()',
      '            raise OSError(e, os.strerror(e))',
      '    return act',
      'open("/data/mine", "w").close()',
      'attempt("setuid(0)", lambda: os.setuid(0))',
      'attempt("setgid(0)", lambda: os.setgid(0))',
      'attempt("chown to root", lambda: os.chown("/data/mine", 0, 0))',
      'attempt("chroot", lambda: os.chroot("/tmp"))',
      'attempt("mknod /dev/mem", lambda: os.mknod("/tmp/mem", 0o20600, os.makedev(1, 1)))',
      'attempt("mount tmpfs", call(libc.mount, b"none", b"/tmp", b"tmpfs", 0, None))',
      'attempt("unshare user ns", call(libc.unshare, 0x10000000))',
      'attempt("unshare mount ns", call(libc.unshare, 0x00020000))',
      'shutil.copy("/usr/bin/id", "/data/id-suid")',
      'os.chmod("/data/id-suid", 0o4755)',
      'print("setuid bit set", bool(os.stat("/data/id-suid").st_mode & 0o4000))',
      'print("setuid binary runs as", subprocess.run(["/data/id-suid", "-u"], capture_output=True, text=True).stdout.strip())',
    ].join('\n'));
    assertOutcome(run, {
      exitCode: 0,
      stdout: [
        'Uid 1000', 'Gid 1000',
        'CapInh 0000000000000000', 'CapPrm 0000000000000000', 'CapEff 0000000000000000',
        'CapBnd 0000000000000000', 'CapAmb 0000000000000000', 'NoNewPrivs 1', 'Seccomp 2',
        'setuid(0) EPERM', 'setgid(0) EPERM', 'chown to root EPERM', 'chroot EPERM', 'mknod /dev/mem EPERM',
        'mount tmpfs EPERM', 'unshare user ns EPERM', 'unshare mount ns EPERM',
        'setuid bit set True', 'setuid binary runs as 1000', '',
      ].join('\n'),
    });
  });

  hostileCase(suite, 'the run sees only its own processes: the server\'s pid cannot be signalled or traced', async (c) => {
    const pid = suite.server.pid;
    const { run } = await c.run('python', [
      'import ctypes, errno, os',
      'libc = ctypes.CDLL(None, use_errno=True)',
      'pids = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())',
      'print("pid 1 is", open("/proc/1/cmdline", "rb").read().split(b"\\0")[0].decode())',
      'print("processes", len(pids))',
      'try:',
      `    os.kill(${pid}, 0)`,
      '    print("kill SUCCEEDED")',
      'except OSError as e:',
      '    print("kill server", errno.errorcode[e.errno])',
      `r = libc.ptrace(16, ${pid}, None, None)`,
      'print("ptrace server", errno.errorcode[ctypes.get_errno()] if r != 0 else "SUCCEEDED")',
    ].join('\n'));
    assertOutcome(run, { exitCode: 0 });
    // PID 1 is the bootstrap shell, waiting for the program to end its run.
    assert.match(run.stdout, /^pid 1 is \/bin\/sh\nprocesses [23]\nkill server ESRCH\nptrace server ESRCH\n$/);
  });

  hostileCase(suite, 'killing PID 1 from inside does nothing: the run carries on and ends normally', async (c) => {
    const { run } = await c.run('bash', [
      "sh -c 'kill -KILL 1; echo \"kill -KILL 1: $?\"'",
      "sh -c 'kill -TERM 1; echo \"kill -TERM 1: $?\"'",
      'kill -KILL 1; echo "kill -KILL 1 from the program: $?"',
      'echo "pid 1 still here"',
    ].join('\n'));
    assertOutcome(run, {
      exitCode: 0, timedOut: false, oomKilled: false, stderr: '',
      stdout: 'kill -KILL 1: 0\nkill -TERM 1: 0\nkill -KILL 1 from the program: 0\npid 1 still here\n',
    });
  });

  hostileCase(suite, 'a program that kills itself ends its run with 137 at once, its output kept, not reported as OOM', async (c) => {
    const { run } = await c.run('bash', 'echo before; echo warn >&2; kill -KILL $$; echo after');
    assertOutcome(run, { exitCode: 137, timedOut: false, oomKilled: false, stdout: 'before\n', stderr: 'warn\nKilled\n' });
  });
});
