// Every runner through MCP: hello world with stdin, a file written to /data
// and fetched through its signed URL, a compile (or syntax) error, a timeout
// and running out of memory. The languages are the folders under runners/:
// a runner without a case here, or a case without its image, fails.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { callTool, connectStreamableV1, conversationId, textOf } from './lib/harness.mjs';

const RUNNERS_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'runners');
const MANIFESTS = Object.fromEntries(
  readdirSync(RUNNERS_DIR)
    .filter((name) => existsSync(join(RUNNERS_DIR, name, 'manifest.json')))
    .map((name) => [name, JSON.parse(readFileSync(join(RUNNERS_DIR, name, 'manifest.json'), 'utf8'))]),
);

const STDIN = 'from stdin\n';

// Per language: `hello` prints "<language> 42" then the stdin line; `file`
// writes /data/out-<language>.txt = "written by <language>\n"; `broken` does
// not compile (or parse); `spin` never ends; `hog` keeps allocating and
// touching memory; `oom` is the language's own out-of-memory message, the
// other acceptable end of `hog` besides the kernel's OOM kill.
const CASES = {
  python: {
    hello: 'import sys\nprint("python", 6 * 7)\nprint(sys.stdin.readline().strip())',
    file: 'open("/data/out-python.txt", "w").write("written by python\\n")',
    broken: 'def broken(:\n    pass',
    spin: 'while True:\n    pass',
    hog: 'keep = []\nwhile True:\n    keep.append(bytearray(b"x" * (16 << 20)))',
    oom: /MemoryError/,
  },
  typescript: {
    hello: 'import { readFileSync } from "node:fs";\nconst n: number = 6 * 7;\nconsole.log(`typescript ${n}`);\nconsole.log(readFileSync(0, "utf8").trim());',
    file: 'import { writeFileSync } from "node:fs";\nwriteFileSync("/data/out-typescript.txt", "written by typescript\\n");',
    broken: 'const x: number = ;',
    spin: 'while (true) {}',
    hog: 'const keep: Uint8Array[] = [];\nwhile (true) keep.push(new Uint8Array(16 << 20).fill(1));',
    oom: /out of memory/i,
  },
  javascript: {
    hello: 'console.log(`javascript ${6 * 7}`);\nconsole.log(require("fs").readFileSync(0, "utf8").trim());',
    file: 'require("fs").writeFileSync("/data/out-javascript.txt", "written by javascript\\n");',
    broken: 'const x = ;',
    spin: 'while (true) {}',
    hog: 'const keep = [];\nwhile (true) keep.push(new Uint8Array(16 << 20).fill(1));',
    oom: /out of memory/i,
  },
  bash: {
    hello: 'echo "bash $((6 * 7))"\nread -r line\necho "$line"',
    file: 'echo "written by bash" > /data/out-bash.txt',
    broken: 'if then fi',
    spin: 'while :; do :; done',
    hog: 'x=aaaaaaaaaaaaaaaa\nwhile :; do x="$x$x"; done',
    oom: /cannot allocate|xmalloc|xrealloc/,
  },
  c: {
    hello: '#include <stdio.h>\nint main(void) {\n  char line[256];\n  printf("c %d\\n", 6 * 7);\n  if (fgets(line, sizeof line, stdin)) fputs(line, stdout);\n  return 0;\n}',
    file: '#include <stdio.h>\nint main(void) {\n  FILE* f = fopen("/data/out-c.txt", "w");\n  if (!f) return 1;\n  fputs("written by c\\n", f);\n  return fclose(f) != 0;\n}',
    broken: 'int main(void) { return undefined_name; }',
    spin: 'int main(void) {\n  volatile unsigned long n = 0;\n  for (;;) n++;\n}',
    hog: '#include <stdlib.h>\n#include <string.h>\nint main(void) {\n  for (;;) {\n    char* p = malloc(16 << 20);\n    if (!p) return 3;\n    memset(p, 1, 16 << 20);\n  }\n}',
    oom: /(?!)/, // only the kernel's OOM kill: malloc succeeds (overcommit) until then
  },
  cpp: {
    hello: '#include <iostream>\n#include <string>\nint main() {\n  std::cout << "cpp " << 6 * 7 << "\\n";\n  std::string line;\n  std::getline(std::cin, line);\n  std::cout << line << "\\n";\n}',
    file: '#include <fstream>\nint main() { std::ofstream("/data/out-cpp.txt") << "written by cpp\\n"; }',
    broken: 'int main() { std::vector<int> v; }',
    spin: 'int main() {\n  volatile unsigned long n = 0;\n  for (;;) n = n + 1;\n}',
    hog: '#include <vector>\nint main() {\n  std::vector<std::vector<char>> keep;\n  for (;;) keep.emplace_back(16 << 20, 1);\n}',
    oom: /bad_alloc/,
  },
  go: {
    hello: 'package main\n\nimport (\n\t"bufio"\n\t"fmt"\n\t"os"\n)\n\nfunc main() {\n\tfmt.Println("go", 6*7)\n\ts := bufio.NewScanner(os.Stdin)\n\tif s.Scan() {\n\t\tfmt.Println(s.Text())\n\t}\n}',
    file: 'package main\n\nimport "os"\n\nfunc main() {\n\tif err := os.WriteFile("/data/out-go.txt", []byte("written by go\\n"), 0o644); err != nil {\n\t\tpanic(err)\n\t}\n}',
    broken: 'package main\n\nfunc main() { undefinedName() }',
    spin: 'package main\n\nfunc main() {\n\tfor {\n\t}\n}',
    hog: 'package main\n\nfunc main() {\n\tvar keep [][]byte\n\tfor {\n\t\tb := make([]byte, 16<<20)\n\t\tfor i := range b {\n\t\t\tb[i] = 1\n\t\t}\n\t\tkeep = append(keep, b)\n\t}\n}',
    oom: /out of memory/,
  },
  rust: {
    hello: 'use std::io::BufRead;\nfn main() {\n    println!("rust {}", 6 * 7);\n    let mut line = String::new();\n    std::io::stdin().lock().read_line(&mut line).unwrap();\n    print!("{}", line);\n}',
    file: 'fn main() {\n    std::fs::write("/data/out-rust.txt", "written by rust\\n").unwrap();\n}',
    broken: 'fn main() {\n    let x: i32 = "text";\n}',
    spin: 'fn main() {\n    let mut n: u64 = 0;\n    loop {\n        n = std::hint::black_box(n + 1);\n    }\n}',
    hog: 'fn main() {\n    let mut keep = Vec::new();\n    loop {\n        keep.push(vec![1u8; 16 << 20]);\n    }\n}',
    oom: /memory allocation of \d+ bytes failed/,
  },
  java: {
    hello: 'import java.util.Scanner;\n\npublic class Main {\n    public static void main(String[] args) {\n        System.out.println("java " + 6 * 7);\n        Scanner in = new Scanner(System.in);\n        if (in.hasNextLine()) System.out.println(in.nextLine());\n    }\n}',
    file: 'import java.nio.file.*;\n\npublic class Main {\n    public static void main(String[] args) throws Exception {\n        Files.writeString(Path.of("/data/out-java.txt"), "written by java\\n");\n    }\n}',
    broken: 'public class Main {\n    public static void main(String[] args) {\n        int x = "text";\n    }\n}',
    spin: 'public class Main {\n    public static void main(String[] args) {\n        long n = 0;\n        while (true) n++;\n    }\n}',
    hog: 'import java.util.*;\n\npublic class Main {\n    public static void main(String[] args) {\n        List<byte[]> keep = new ArrayList<>();\n        while (true) keep.add(new byte[16 << 20]);\n    }\n}',
    oom: /OutOfMemoryError/,
  },
  ruby: {
    hello: 'puts "ruby #{6 * 7}"\nputs $stdin.gets',
    file: 'File.write("/data/out-ruby.txt", "written by ruby\\n")',
    broken: 'def broken(\n',
    spin: 'loop { }',
    hog: 'keep = []\nloop { keep << ("x" * (16 << 20)) }',
    oom: /failed to allocate memory|NoMemoryError/,
  },
  php: {
    hello: '<?php\necho "php " . 6 * 7 . "\\n";\necho fgets(STDIN);',
    file: '<?php\nfile_put_contents("/data/out-php.txt", "written by php\\n");',
    broken: '<?php\necho "x"\necho "y";',
    spin: '<?php\nwhile (true) {}',
    hog: '<?php\n$keep = [];\nwhile (true) { $keep[] = str_repeat("x", 16 << 20); }',
    oom: /Allowed memory size/,
  },
  r: {
    hello: 'cat(sprintf("r %d\\n", 6L * 7L))\ncat(readLines(file("stdin"), n = 1), "\\n", sep = "")',
    file: 'writeLines("written by r", "/data/out-r.txt")',
    broken: 'x <- (1 +',
    spin: 'repeat {}',
    hog: 'keep <- list()\ni <- 0\nrepeat {\n  i <- i + 1\n  keep[[i]] <- runif(2e6)\n}',
    oom: /cannot allocate/,
  },
  lua: {
    hello: 'print("lua " .. 6 * 7)\nprint(io.read("l"))',
    file: 'local f = assert(io.open("/data/out-lua.txt", "w"))\nf:write("written by lua\\n")\nf:close()',
    broken: 'print(("x"',
    spin: 'while true do end',
    hog: 'local keep = {}\nwhile true do keep[#keep + 1] = string.rep("x", 16 * 1024 * 1024) .. #keep end',
    oom: /not enough memory/,
  },
  perl: {
    hello: 'print "perl ", 6 * 7, "\\n";\nmy $line = <STDIN>;\nprint $line;',
    file: 'open(my $f, ">", "/data/out-perl.txt") or die $!;\nprint $f "written by perl\\n";\nclose($f);',
    broken: 'print "x" +;',
    spin: '1 while 1;',
    hog: 'my @keep;\nwhile (1) { push @keep, "x" x (16 << 20); }',
    oom: /Out of memory/,
  },
};

// Only the compile step needs more than a moment before a spinning program
// spins; the deadline must leave room for it on a loaded machine.
const spinTimeout = (language) => (MANIFESTS[language].compile || language === 'java' ? 20 : 3);

function runOf(result) {
  assert.ok(result.structuredContent, `no structuredContent: ${textOf(result)}`);
  return result.structuredContent;
}

describe('languages: every runner through MCP', () => {
  let client;
  let runners;
  before(async () => {
    client = await connectStreamableV1();
    const listed = await callTool(client, 'list_runners', {});
    runners = Object.fromEntries(listed.structuredContent.runners.map((r) => [r.language, r]));
  });
  after(async () => client?.close());

  test('every runner folder has a case here and an image on the server, with its version and limits', () => {
    assert.deepEqual(Object.keys(CASES).sort(), Object.keys(MANIFESTS).sort());
    for (const [language, manifest] of Object.entries(MANIFESTS)) {
      const runner = runners[language];
      assert.ok(runner, `no ${language} runner on the server (./build.sh images all)`);
      assert.match(runner.version, /\d/, `${language} version: ${runner.version}`);
      assert.deepEqual(runner.aliases, manifest.aliases);
      assert.equal(runner.compiled, Boolean(manifest.compile));
      for (const key of ['cpus', 'memoryMb', 'timeoutSeconds']) assert.equal(typeof runner.limits[key], 'number');
      if (manifest.limits?.memory_mb) assert.ok(runner.limits.memoryMb >= 256);
    }
  });

  for (const [language, c] of Object.entries(CASES)) {
    describe(language, () => {
      const conversation = conversationId(`lang-${language}`);
      const run = (code, extra = {}) =>
        callTool(client, 'run_code', { conversationId: conversation, language, code, ...extra });

      test('hello world reads stdin, through an alias too', async () => {
        const names = [language, ...(MANIFESTS[language].aliases ?? []).slice(0, 1)];
        for (const name of names) {
          const result = runOf(await run(c.hello, { language: name, stdin: STDIN }));
          assert.equal(result.exitCode, 0, `${name}: exit ${result.exitCode}, stderr: ${result.stderr}`);
          assert.equal(result.stdout, `${language} 42\nfrom stdin\n`, `${name}: stderr: ${result.stderr}`);
          assert.equal(result.language, language);
        }
      });

      test('a file written to /data is listed with a signed URL that serves it', async () => {
        const result = runOf(await run(c.file));
        assert.equal(result.exitCode, 0, `stderr: ${result.stderr}`);
        const file = result.files.find((f) => f.name === `out-${language}.txt`);
        assert.ok(file, `out-${language}.txt not in ${JSON.stringify(result.files)}`);
        const response = await fetch(file.url);
        assert.equal(response.status, 200);
        assert.equal(await response.text(), `written by ${language}\n`);
        // Build outputs stay out of /data: only the file the program wrote is new.
        assert.deepEqual(result.files.map((f) => f.name).filter((n) => !n.startsWith('out-')), []);
      });

      test('a compile or syntax error is a normal result: stderr and a non-zero exit', async () => {
        const raw = await run(c.broken);
        const result = runOf(raw);
        assert.notEqual(result.exitCode, 0);
        assert.equal(result.timedOut, false);
        assert.equal(result.oomKilled, false);
        assert.ok(result.stderr.length > 0, 'no diagnostics on stderr');
        assert.match(textOf(raw), /exited with code/);
      });

      test('a program that never ends is killed at its time limit', async () => {
        const result = runOf(await run(c.spin, { timeoutSeconds: spinTimeout(language) }));
        assert.equal(result.timedOut, true, `exit ${result.exitCode}, stderr: ${result.stderr}`);
      });

      test('running out of memory is an OOM kill or the language\'s own error, never success or a hang', async () => {
        const result = runOf(await run(c.hog));
        assert.equal(result.timedOut, false, 'the hog ran into the time limit instead of the memory limit');
        assert.notEqual(result.exitCode, 0);
        assert.ok(
          result.oomKilled || c.oom.test(result.stderr),
          `neither oomKilled nor ${c.oom} (exit ${result.exitCode}): ${result.stderr.slice(-400)}`,
        );
      });
    });
  }
});
