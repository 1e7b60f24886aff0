#!/usr/bin/env node
// Measures each runner under the executor's contract and the default limits
// (0.5 CPU, 256 MiB, no swap, read-only root, noexec /tmp, exec /build for
// compiled languages, no network, user 1000): the wall time of a whole
// `docker run` for a hello world and for a generated ~200-line program
// (compile + run), median of --rounds runs, rounds interleaved across
// languages. Prints a Markdown table for docs/runners.md.
//
//   node images/measure-runners.mjs [--rounds 3] [language...]
//
// Uses DOCKER (default: docker) and the images the runners' manifests name.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const DOCKER = process.env.DOCKER || 'docker';
const args = process.argv.slice(2);
let rounds = 3;
const wanted = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--rounds') rounds = Number(args[++i]);
  else wanted.push(args[i]);
}

const FUNCTIONS = 28; // 5-7 lines each, plus a main: about 200 lines

// Per language: a hello world, and one function / the main of the larger program.
const PROGRAMS = {
  python: {
    hello: 'print("hello")',
    fn: (i) => `def f${i}(x):\n    y = x * ${i} + 1\n    if y % 2 == 0:\n        return y // 2\n    return y % 1000003\n`,
    main: (n) => `total = 0\nfor i in range(1000):\n${[...Array(n).keys()].map((i) => `    total = (total + f${i}(i)) % 1000003`).join('\n')}\nprint(total)\n`,
  },
  typescript: {
    hello: 'console.log("hello")',
    fn: (i) => `function f${i}(x: number): number {\n  const y: number = x * ${i} + 1;\n  if (y % 2 === 0) return Math.floor(y / 2);\n  return y % 1000003;\n}\n`,
    main: (n) => `let total = 0;\nfor (let i = 0; i < 1000; i++) {\n${[...Array(n).keys()].map((i) => `  total = (total + f${i}(i)) % 1000003;`).join('\n')}\n}\nconsole.log(total);\n`,
  },
  javascript: {
    hello: 'console.log("hello")',
    fn: (i) => `function f${i}(x) {\n  const y = x * ${i} + 1;\n  if (y % 2 === 0) return Math.floor(y / 2);\n  return y % 1000003;\n}\n`,
    main: (n) => `let total = 0;\nfor (let i = 0; i < 1000; i++) {\n${[...Array(n).keys()].map((i) => `  total = (total + f${i}(i)) % 1000003;`).join('\n')}\n}\nconsole.log(total);\n`,
  },
  bash: {
    hello: 'echo hello',
    fn: (i) => `f${i}() {\n  local y=$(( $1 * ${i} + 1 ))\n  if (( y % 2 == 0 )); then r=$(( y / 2 )); else r=$(( y % 1000003 )); fi\n}\n`,
    main: (n) => `total=0\nfor ((i = 0; i < 20; i++)); do\n${[...Array(n).keys()].map((i) => `  f${i} $i; total=$(( (total + r) % 1000003 ))`).join('\n')}\ndone\necho $total\n`,
  },
  c: {
    hello: '#include <stdio.h>\nint main(void) { puts("hello"); return 0; }',
    prelude: '#include <stdio.h>\n',
    fn: (i) => `static long f${i}(long x) {\n  long y = x * ${i} + 1;\n  if (y % 2 == 0) return y / 2;\n  return y % 1000003;\n}\n`,
    main: (n) => `int main(void) {\n  long total = 0;\n  for (long i = 0; i < 1000; i++) {\n${[...Array(n).keys()].map((i) => `    total = (total + f${i}(i)) % 1000003;`).join('\n')}\n  }\n  printf("%ld\\n", total);\n  return 0;\n}\n`,
  },
  cpp: {
    hello: '#include <iostream>\nint main() { std::cout << "hello\\n"; }',
    prelude: '#include <iostream>\n#include <vector>\n#include <string>\n',
    fn: (i) => `static long f${i}(long x) {\n  std::vector<long> v{x * ${i} + 1};\n  if (v[0] % 2 == 0) return v[0] / 2;\n  return v[0] % 1000003;\n}\n`,
    main: (n) => `int main() {\n  long total = 0;\n  for (long i = 0; i < 1000; i++) {\n${[...Array(n).keys()].map((i) => `    total = (total + f${i}(i)) % 1000003;`).join('\n')}\n  }\n  std::cout << std::to_string(total) << "\\n";\n}\n`,
  },
  go: {
    hello: 'package main\n\nimport "fmt"\n\nfunc main() { fmt.Println("hello") }',
    prelude: 'package main\n\nimport "fmt"\n\n',
    fn: (i) => `func f${i}(x int64) int64 {\n\ty := x*${i} + 1\n\tif y%2 == 0 {\n\t\treturn y / 2\n\t}\n\treturn y % 1000003\n}\n`,
    main: (n) => `func main() {\n\tvar total int64\n\tfor i := int64(0); i < 1000; i++ {\n${[...Array(n).keys()].map((i) => `\t\ttotal = (total + f${i}(i)) % 1000003`).join('\n')}\n\t}\n\tfmt.Println(total)\n}\n`,
  },
  rust: {
    hello: 'fn main() { println!("hello"); }',
    fn: (i) => `fn f${i}(x: i64) -> i64 {\n    let y = x * ${i} + 1;\n    if y % 2 == 0 {\n        return y / 2;\n    }\n    y % 1000003\n}\n`,
    main: (n) => `fn main() {\n    let mut total: i64 = 0;\n    for i in 0..1000 {\n${[...Array(n).keys()].map((i) => `        total = (total + f${i}(i)) % 1000003;`).join('\n')}\n    }\n    println!("{}", total);\n}\n`,
  },
  java: {
    hello: 'public class Main { public static void main(String[] a) { System.out.println("hello"); } }',
    prelude: 'public class Main {\n',
    fn: (i) => `    static long f${i}(long x) {\n        long y = x * ${i} + 1;\n        if (y % 2 == 0) return y / 2;\n        return y % 1000003;\n    }\n`,
    main: (n) => `    public static void main(String[] args) {\n        long total = 0;\n        for (long i = 0; i < 1000; i++) {\n${[...Array(n).keys()].map((i) => `            total = (total + f${i}(i)) % 1000003;`).join('\n')}\n        }\n        System.out.println(total);\n    }\n}\n`,
  },
  ruby: {
    hello: 'puts "hello"',
    fn: (i) => `def f${i}(x)\n  y = x * ${i} + 1\n  return y / 2 if y.even?\n  y % 1000003\nend\n`,
    main: (n) => `total = 0\n1000.times do |i|\n${[...Array(n).keys()].map((i) => `  total = (total + f${i}(i)) % 1000003`).join('\n')}\nend\nputs total\n`,
  },
  php: {
    hello: '<?php echo "hello\\n";',
    prelude: '<?php\n',
    fn: (i) => `function f${i}($x) {\n  $y = $x * ${i} + 1;\n  if ($y % 2 == 0) return intdiv($y, 2);\n  return $y % 1000003;\n}\n`,
    main: (n) => `$total = 0;\nfor ($i = 0; $i < 1000; $i++) {\n${[...Array(n).keys()].map((i) => `  $total = ($total + f${i}($i)) % 1000003;`).join('\n')}\n}\necho $total, "\\n";\n`,
  },
  r: {
    hello: 'cat("hello\\n")',
    fn: (i) => `f${i} <- function(x) {\n  y <- x * ${i} + 1\n  if (y %% 2 == 0) return(y %/% 2)\n  y %% 1000003\n}\n`,
    main: (n) => `total <- 0\nfor (i in 0:999) {\n${[...Array(n).keys()].map((i) => `  total <- (total + f${i}(i)) %% 1000003`).join('\n')}\n}\ncat(total, "\\n")\n`,
  },
  lua: {
    hello: 'print("hello")',
    fn: (i) => `local function f${i}(x)\n  local y = x * ${i} + 1\n  if y % 2 == 0 then return y // 2 end\n  return y % 1000003\nend\n`,
    main: (n) => `local total = 0\nfor i = 0, 999 do\n${[...Array(n).keys()].map((i) => `  total = (total + f${i}(i)) % 1000003`).join('\n')}\nend\nprint(total)\n`,
  },
  perl: {
    hello: 'print "hello\\n";',
    prelude: 'use strict;\nuse warnings;\n',
    fn: (i) => `sub f${i} {\n  my $y = $_[0] * ${i} + 1;\n  return int($y / 2) if $y % 2 == 0;\n  return $y % 1000003;\n}\n`,
    main: (n) => `my $total = 0;\nfor my $i (0 .. 999) {\n${[...Array(n).keys()].map((i) => `  $total = ($total + f${i}($i)) % 1000003;`).join('\n')}\n}\nprint "$total\\n";\n`,
  },
};

function larger(p) {
  return (p.prelude ?? '') + [...Array(FUNCTIONS).keys()].map(p.fn).join('\n') + '\n' + p.main(FUNCTIONS);
}

const quote = (w) => `'${w.replace(/'/g, `'\\''`)}'`;

function runOnce(manifest, code) {
  const compiled = Array.isArray(manifest.compile);
  // The executor's two bootstraps (server/runner/container_spec.hpp).
  const ending = `s=$?; printf '%s %d\\n' "$t" "$s"; printf '%s %d\\n' "$t" "$s" >&2; exit "$s"; }`;
  const bootstrap = compiled
    ? `IFS= read -r t && IFS= read -r n && head -c "$n" > "$0" && { eval "$1" < /dev/null && shift && "$@"; ${ending}`
    : `IFS= read -r t && IFS= read -r n && head -c "$n" > "$0" && { "$@"; ${ending}`;
  const argv = [
    'run', '-i', '--rm', '--network', 'none', '--read-only', '--user', '1000:1000', '--cap-drop', 'ALL',
    '--security-opt', 'no-new-privileges', '--pids-limit', '128', '--cpus', '0.5', '--memory', '256m',
    '--memory-swap', '256m', '--tmpfs', '/tmp:rw,noexec,nosuid,nodev,size=64m',
    ...(compiled ? ['--tmpfs', '/build:rw,exec,nosuid,nodev,size=256m,mode=1777'] : []),
    '--tmpfs', '/data:rw,nosuid,size=64m,uid=1000,gid=1000', '--workdir', '/data',
    manifest.image, '/bin/sh', '-c', bootstrap, `/tmp/${manifest.file}`,
    ...(compiled ? [manifest.compile.map(quote).join(' ')] : []), ...manifest.command,
  ];
  const input = `measure-end\n${Buffer.byteLength(code)}\n${code}`;
  const started = process.hrtime.bigint();
  const result = spawnSync(DOCKER, argv, { input, encoding: 'utf8', timeout: 120_000 });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (result.status !== 0) {
    throw new Error(`${manifest.language}: exit ${result.status}: ${result.stderr.slice(-600)}`);
  }
  return ms;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const languages = readdirSync(join(ROOT, 'runners'))
  .filter((l) => existsSync(join(ROOT, 'runners', l, 'manifest.json')))
  .filter((l) => wanted.length === 0 || wanted.includes(l));
const manifests = Object.fromEntries(
  languages.map((l) => [l, JSON.parse(readFileSync(join(ROOT, 'runners', l, 'manifest.json'), 'utf8'))]),
);
const times = Object.fromEntries(languages.map((l) => [l, { hello: [], larger: [] }]));
for (let round = 0; round < rounds; round++) {
  for (const language of languages) {
    const p = PROGRAMS[language];
    if (!p) throw new Error(`no programs for ${language}`);
    times[language].hello.push(runOnce(manifests[language], p.hello));
    times[language].larger.push(runOnce(manifests[language], larger(p)));
  }
}
const size = (image) =>
  execFileSync(DOCKER, ['image', 'inspect', '--format', '{{.Size}}', image], { encoding: 'utf8' }).trim();
console.log(`| language | hello world, ms | ~200-line program (${FUNCTIONS} functions), ms | image size, MB |`);
console.log('|---|---|---|---|');
for (const language of languages) {
  const lines = larger(PROGRAMS[language]).split('\n').length;
  console.log(
    `| ${language} | ${Math.round(median(times[language].hello))} | ${Math.round(median(times[language].larger))} (${lines} lines) | ${Math.round(Number(size(manifests[language].image)) / 1e6)} |`,
  );
}
