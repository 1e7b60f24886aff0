#!/usr/bin/env python3
"""Checks server/ against the dependency rules written in docs/ARCHITECTURE.md.

The rules live only in that document, in two tables:
  - "folder | owns | may use": one row per module; "may use" lists the modules
    its code may include and its CMake target may link;
  - "third party | headers, CMake targets and calls | only in | reached through
    headers by": which modules may include a library's headers, link its target
    or call a function (getenv), or "any module"; and which others may still see
    it through one of our headers that includes it.
and its diagram is generated from the first table (--diagram prints it).

What is checked, for every module (a folder of server/, or main.cpp):
  - each `#include "m/..."` of another module m, and each link of m in the
    module's CMakeLists, is allowed by its "may use" cell;
  - what it includes it links, and what it links it includes;
  - a dependency is linked PUBLIC exactly when one of the module's headers that
    other modules include needs it (the include root server/ is shared, so
    link visibility alone would never stop an include: this check does);
  - third-party headers, targets and calls appear only where the second table
    allows them, and no other module includes a header of ours that brings
    them in; every linked library is listed there;
  - every folder has a row and every row a folder; the table has no cycle.

Usage: check_deps.py [--diagram | --write-diagram] [ROOT]
  ROOT: the repository (default: the one holding this script); --diagram prints
  the diagram generated from the table, --write-diagram puts it in the document.
Exit status: 0 the tree follows the rules, 1 it does not (one line per
violation, path:line: message), 2 the document cannot be read as rules.
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import sys
from pathlib import Path

DOC = "docs/ARCHITECTURE.md"
# Targets of our own build settings (warnings, sanitizers), not dependencies.
BUILD_SETTING_TARGETS = {"project_options"}
SOURCE_SUFFIXES = {".cpp", ".hpp", ".h", ".cc"}
HEADER_SUFFIXES = {".hpp", ".h"}
DIAGRAM_MARKER = "check_deps.py --diagram"
NOTHING = {"", "-", "—", "none"}
ANY_MODULE = {"any module", "any"}


class RulesError(Exception):
    """The document cannot be read as rules: the check cannot run."""


@dataclasses.dataclass
class Library:
    name: str
    header_prefixes: list[str]  # "curl/" (a folder) or "httplib.h" (one header)
    targets: set[str]
    calls: set[str]
    only_in: set[str] | None  # None: any module
    reached_by: set[str]  # modules that may still see it through another module's headers

    def owns_header(self, header: str) -> bool:
        return any(header == p or (p.endswith("/") and header.startswith(p)) for p in self.header_prefixes)


@dataclasses.dataclass
class Rules:
    may_use: dict[str, list[str]]  # in table order
    file_modules: set[str]  # rows naming a file (server/main.cpp), not a folder
    libraries: list[Library]
    table_line: int
    diagram_line: int | None  # the 1-based line of the diagram's opening fence = 0-based index of its first line
    diagram: list[str] | None


# ---------------------------------------------------------------- the rules


def table_rows(lines: list[str], header: list[str]) -> tuple[int, list[tuple[int, list[str]]]]:
    """The body rows of the first Markdown table whose header cells are `header`."""
    for index, line in enumerate(lines):
        if not line.startswith("|"):
            continue
        if [c.strip().lower() for c in line.strip().strip("|").split("|")] != header:
            continue
        rows = []
        for number in range(index + 2, len(lines)):
            if not lines[number].startswith("|"):
                break
            rows.append((number + 1, [c.strip() for c in lines[number].strip().strip("|").split("|")]))
        return index + 1, rows
    raise RulesError(f"{DOC} has no table with the columns {' | '.join(header)}")


def names_in(cell: str) -> list[str]:
    """Comma-separated names of a cell, without backticks and "(why)" notes."""
    cell = re.sub(r"\([^)]*\)", "", cell.replace("`", ""))
    return [name.strip() for name in cell.split(",") if name.strip()]


def read_rules(root: Path) -> Rules:
    path = root / DOC
    if not path.is_file():
        raise RulesError(f"{DOC} not found under {root}")
    lines = path.read_text(encoding="utf-8").splitlines()

    table_line, rows = table_rows(lines, ["folder", "owns", "may use"])
    may_use: dict[str, list[str]] = {}
    file_modules: set[str] = set()
    row_of: dict[str, int] = {}
    for number, cells in rows:
        if len(cells) != 3:
            raise RulesError(f"{DOC}:{number}: a module row needs 3 cells, not {len(cells)}")
        folder = cells[0].strip("`")
        match = re.fullmatch(r"server/([a-z0-9_]+)(/|\.cpp)", folder)
        if not match:
            raise RulesError(f"{DOC}:{number}: '{folder}' is neither server/<module>/ nor server/<name>.cpp")
        module = match.group(1)
        if match.group(2) == ".cpp":
            file_modules.add(module)
        may_use[module] = [] if cells[2].strip().lower() in NOTHING else names_in(cells[2])
        row_of[module] = number
    for module, uses in may_use.items():
        for used in uses:
            if used not in may_use:
                raise RulesError(f"{DOC}:{row_of[module]}: {module} may use '{used}', which has no row in the table")

    _, library_rows = table_rows(lines, ["third party", "headers, cmake targets and calls", "only in",
                                         "reached through headers by"])
    libraries = []
    for number, cells in library_rows:
        if len(cells) != 4:
            raise RulesError(f"{DOC}:{number}: a third-party row needs 4 cells, not {len(cells)}")
        headers, targets, calls = [], set(), set()
        for token in re.findall(r"`([^`]+)`", cells[1]):
            if token.startswith("<"):
                headers.append(token.strip("<>").rstrip("…*"))
            elif "::" in token:
                targets.add(token)
            elif re.fullmatch(r"[A-Za-z_]\w*", token):
                calls.add(token)
            else:
                raise RulesError(f"{DOC}:{number}: cannot tell what `{token}` is (a <header/…>, a Target::name or a call)")
        if not (headers or targets or calls):
            raise RulesError(f"{DOC}:{number}: {cells[0]} names no header, target or call in backticks")
        only_in = None
        if cells[2].strip().lower() not in ANY_MODULE:
            only_in = set(names_in(cells[2]))
            for module in only_in - may_use.keys():
                raise RulesError(f"{DOC}:{number}: '{module}' in the \"only in\" cell has no row in the module table")
        reached_by = set() if cells[3].strip().lower() in NOTHING else set(names_in(cells[3]))
        for module in reached_by - may_use.keys():
            raise RulesError(f"{DOC}:{number}: '{module}' in the \"reached through headers by\" cell has no row in the module table")
        libraries.append(Library(cells[0], headers, targets, calls, only_in, reached_by))

    diagram_line, diagram = None, None
    for index, line in enumerate(lines):
        if DIAGRAM_MARKER in line:
            start = next((i for i in range(index + 1, len(lines)) if lines[i].startswith("```")), None)
            end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("```")), None) if start else None
            if start is not None and end is not None:
                diagram_line, diagram = start + 1, lines[start + 1 : end]
            break
    return Rules(may_use, file_modules, libraries, table_line, diagram_line, diagram)


def cycle_in(may_use: dict[str, list[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1: on the path, 2: done

    def visit(module: str, path: list[str]) -> list[str] | None:
        state[module] = 1
        for used in may_use[module]:
            if state.get(used) == 1:
                return path[path.index(used) :] + [module, used] if used in path else [module, used]
            if used not in state:
                found = visit(used, path + [module])
                if found:
                    return found
        state[module] = 2
        return None

    for module in may_use:
        if module not in state:
            found = visit(module, [])
            if found:
                return found
    return None


def diagram(may_use: dict[str, list[str]]) -> list[str]:
    """A dependency structure matrix: rows use the columns marked, highest layer first."""
    depth: dict[str, int] = {}

    def height(module: str) -> int:
        if module not in depth:
            depth[module] = 0  # a cycle is reported elsewhere; this only has to end
            depth[module] = 1 + max((height(used) for used in may_use[module]), default=0)
        return depth[module]

    table_order = list(may_use)
    order = sorted(table_order, key=lambda m: (-height(m), -table_order.index(m)))
    width = max(len(m) for m in order)
    lines = [" " * width + "  " + " ".join(order)]
    for module in order:
        cells = []
        for used in order:
            mark = "●" if used in may_use[module] else ("·" if used == module else " ")
            cells.append(mark.center(len(used)))
        lines.append((module.ljust(width) + "  " + " ".join(cells)).rstrip())
    return lines


# ---------------------------------------------------------------- the tree


@dataclasses.dataclass
class Use:
    """One place where a module uses something: an include, a link or a call."""

    path: str  # relative to the root
    line: int
    what: str  # the included header, the linked target or the call


@dataclasses.dataclass
class Link(Use):
    visibility: str  # PUBLIC or PRIVATE


@dataclasses.dataclass
class Module:
    name: str
    files: list[Path] = dataclasses.field(default_factory=list)
    includes: dict[str, list[Use]] = dataclasses.field(default_factory=dict)  # by used module
    library_includes: dict[str, list[Use]] = dataclasses.field(default_factory=dict)  # by library name
    calls: dict[str, list[Use]] = dataclasses.field(default_factory=dict)  # by library name
    links: dict[str, Link] = dataclasses.field(default_factory=dict)  # by module or library name
    interface_headers: set[str] = dataclasses.field(default_factory=set)


INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')


def without_comments_and_literals(text: str) -> str:
    """C++ text with comments and string/char literals blanked, newlines kept."""
    pattern = re.compile(
        r'//[^\n]*|/\*.*?\*/|R"([^(\s]*)\(.*?\)\1"|"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\'', re.S
    )
    return pattern.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), text)


def module_of(relative: Path) -> str:
    """server/tools/x.cpp -> tools; server/main.cpp -> main."""
    parts = relative.parts
    return parts[1] if len(parts) > 2 else Path(parts[1]).stem


def scan_sources(root: Path, rules: Rules, modules: dict[str, Module], problems: list[str]) -> None:
    server = root / "server"
    files = sorted(p for p in server.rglob("*") if p.suffix in SOURCE_SUFFIXES and p.is_file())
    included_by: dict[str, set[str]] = {}  # header (relative to server/) -> modules including it
    header_includes: dict[str, list[str]] = {}  # header -> headers of its own module it includes
    quoted: dict[str, list[tuple[str, int]]] = {}  # file (relative to server/) -> (header, line) it includes
    brought: dict[str, list[tuple[Library, str, int]]] = {}  # file -> (library, header, line) it includes
    for file in files:
        relative = file.relative_to(root)
        name = module_of(relative)
        if name not in rules.may_use:
            continue  # reported once per folder by check_folders
        module = modules.setdefault(name, Module(name))
        module.files.append(file)
        text = file.read_text(encoding="utf-8", errors="replace")
        for number, line in enumerate(text.splitlines(), 1):
            match = INCLUDE.match(line)
            if not match:
                continue
            kind, header = match.groups()
            use = Use(str(relative), number, header)
            if kind == '"':
                first = header.split("/")[0]
                if "/" not in header or first not in rules.may_use or first in rules.file_modules:
                    problems.append(f"{relative}:{number}: #include \"{header}\" does not name a module folder; "
                                    f"write it from server/ (\"{name}/…\")")
                    continue
                included_by.setdefault(header, set()).add(name)
                quoted.setdefault(str(relative.relative_to("server")), []).append((header, number))
                if first == name:
                    header_includes.setdefault(str(relative.relative_to("server")), []).append(header)
                else:
                    module.includes.setdefault(first, []).append(use)
            else:
                for library in rules.libraries:
                    if library.owns_header(header):
                        module.library_includes.setdefault(library.name, []).append(use)
                        brought.setdefault(str(relative.relative_to("server")), []).append((library, header, number))
        code = without_comments_and_literals(text)
        for library in rules.libraries:
            for call in library.calls:
                for match in re.finditer(rf"\b{re.escape(call)}\b", code):
                    number = code.count("\n", 0, match.start()) + 1
                    module.calls.setdefault(library.name, []).append(Use(str(relative), number, call))

    # A module's interface: its headers that other modules include, and the
    # headers of its own those include. Only these decide what is PUBLIC.
    for header, users in included_by.items():
        owner = header.split("/")[0]
        if owner in modules and users - {owner}:
            pending = [header]
            while pending:
                current = pending.pop()
                if current in modules[owner].interface_headers:
                    continue
                modules[owner].interface_headers.add(current)
                pending.extend(header_includes.get(current, []))
    check_leaks(modules, quoted, brought, problems)


def check_leaks(modules: dict[str, Module], quoted: dict[str, list[tuple[str, int]]],
                brought: dict[str, list[tuple[Library, str, int]]], problems: list[str]) -> None:
    """A library kept to some modules must not reach others through their headers."""
    memo: dict[str, dict[str, tuple[Library, str, str, int]]] = {}

    def libraries_through(header: str, visiting: set[str]) -> dict[str, tuple[Library, str, str, int]]:
        """Library name -> (library, its header, our header including it, line), for all `header` includes."""
        if header in memo:
            return memo[header]
        found: dict[str, tuple[Library, str, str, int]] = {}
        for library, library_header, line in brought.get(header, []):
            found.setdefault(library.name, (library, library_header, header, line))
        for included, _ in quoted.get(header, []):
            if included not in visiting:
                for name, where in libraries_through(included, visiting | {included}).items():
                    found.setdefault(name, where)
        memo[header] = found
        return found

    for module in modules.values():
        for path, includes in quoted.items():
            if module_of(Path("server") / path) != module.name:
                continue
            for header, line in includes:
                if header.split("/")[0] == module.name:
                    continue
                for library, library_header, carrier, carrier_line in libraries_through(header, {header}).values():
                    if library.only_in is None or module.name in library.only_in or module.name in library.reached_by:
                        continue
                    problems.append(f"server/{path}:{line}: {module.name} includes {header}, which brings "
                                    f"<{library_header}> (server/{carrier}:{carrier_line}), but {library.name} is only "
                                    f"for {', '.join(sorted(library.only_in))} ({DOC})")


def cmake_commands(text: str):
    """(name, [(argument, line)], line) of each command in a CMakeLists, outside function bodies."""
    text = re.sub(r"#[^\n]*", "", text)
    depth = 0  # inside function()/macro() definitions
    position = 0
    command = re.compile(r"([A-Za-z_]\w*)\s*\(")
    while True:
        match = command.search(text, position)
        if not match:
            return
        level, end = 1, match.end()
        while level and end < len(text):
            level += {"(": 1, ")": -1}.get(text[end], 0)
            end += 1
        name = match.group(1).lower()
        arguments = [(token.group(0), text.count("\n", 0, token.start()) + 1)
                     for token in re.compile(r"\S+").finditer(text, match.end(), end - 1)]
        position = end
        if name in ("function", "macro"):
            depth += 1
        elif name in ("endfunction", "endmacro"):
            depth -= 1
        elif depth == 0:
            yield name, arguments, text.count("\n", 0, match.start()) + 1


def scan_cmake(root: Path, rules: Rules, modules: dict[str, Module], problems: list[str]) -> int:
    targets: dict[str, str] = {}  # CMake target -> module
    links: list[tuple[str, str, str, str, int]] = []  # target, item, visibility, path, line
    library_of_target = {t: lib.name for lib in rules.libraries for t in lib.targets}
    for cmake in sorted((root / "server").rglob("CMakeLists.txt")):
        relative = cmake.relative_to(root)
        for name, arguments, line in cmake_commands(cmake.read_text(encoding="utf-8")):
            words = [word for word, _ in arguments]
            if name == "mcp_module" and words:
                target = words[0]
                folder = relative.parent.name
                if target != folder:
                    problems.append(f"{relative}:{line}: the module in server/{folder}/ must be named {folder}, not {target}")
                targets[target] = target
                visibility = None
                for word, word_line in arguments[1:]:
                    if word in ("SOURCES", "DEPS", "PRIVATE_DEPS"):
                        visibility = {"SOURCES": None, "DEPS": "PUBLIC", "PRIVATE_DEPS": "PRIVATE"}[word]
                    elif visibility:
                        links.append((target, word, visibility, str(relative), word_line))
            elif name == "add_executable" and words:
                for source in words[1:]:
                    if (cmake.parent / source).parent == root / "server":
                        targets[words[0]] = Path(source).stem
            elif name == "add_library" and words and not words[0].startswith("$"):
                problems.append(f"{relative}:{line}: add_library({words[0]} …): a module is declared with mcp_module()")
            elif name == "target_link_libraries" and words:
                visibility = None
                for word, word_line in arguments[1:]:
                    if word in ("PUBLIC", "PRIVATE", "INTERFACE"):
                        visibility = word
                    elif visibility is None:
                        problems.append(f"{relative}:{line}: target_link_libraries({words[0]} …) needs PUBLIC or PRIVATE")
                        break
                    else:
                        links.append((words[0], word, visibility, str(relative), word_line))

    count = 0
    for target, item, visibility, path, line in links:
        owner = targets.get(target)
        if owner is None or owner not in modules:
            problems.append(f"{path}:{line}: links for '{target}', which is not a module of {DOC}")
            continue
        if item in BUILD_SETTING_TARGETS:
            continue
        if item in rules.may_use:
            used = item
        elif item in library_of_target:
            used = library_of_target[item]
        else:
            problems.append(f"{path}:{line}: {owner} links '{item}', which the third-party table of {DOC} does not list")
            continue
        modules[owner].links[used] = Link(path, line, item, visibility)
        count += 1
    return count


# ---------------------------------------------------------------- the checks


def allowed_text(rules: Rules, module: str) -> str:
    uses = rules.may_use[module]
    return f"{module} may use {', '.join(uses)}" if uses else f"{module} may use no other module"


def check_folders(root: Path, rules: Rules, problems: list[str]) -> None:
    server = root / "server"
    if not server.is_dir():
        raise RulesError(f"no server/ folder under {root}")
    for entry in sorted(server.iterdir()):
        if entry.is_dir() and entry.name not in rules.may_use:
            problems.append(f"server/{entry.name}/: a module that {DOC} does not list; add a row to its table")
        if entry.is_file() and entry.suffix in SOURCE_SUFFIXES and entry.stem not in rules.file_modules:
            problems.append(f"server/{entry.name}: a file that {DOC} does not list; add a row to its table")
    for module in rules.may_use:
        place = f"server/{module}.cpp" if module in rules.file_modules else f"server/{module}/"
        if not (root / place).exists():
            problems.append(f"{DOC}:{rules.table_line}: the table lists {place}, which does not exist")


def check_module(rules: Rules, module: Module, problems: list[str]) -> None:
    name = module.name
    is_executable = name in rules.file_modules
    for used, uses in module.includes.items():
        if used not in rules.may_use[name]:
            for use in uses:
                problems.append(f"{use.path}:{use.line}: {name} includes {use.what}, but {allowed_text(rules, name)} ({DOC})")
        elif used not in module.links:
            use = uses[0]
            where = "server/CMakeLists.txt" if is_executable else f"server/{name}/CMakeLists.txt"
            problems.append(f"{use.path}:{use.line}: {name} includes {use.what} but does not link {used} (add it in {where})")
    for used, link in module.links.items():
        library = next((lib for lib in rules.libraries if lib.name == used), None)
        if library is None:
            if used not in rules.may_use[name]:
                problems.append(f"{link.path}:{link.line}: {name} links {used}, but {allowed_text(rules, name)} ({DOC})")
                continue
            if used not in module.includes:
                problems.append(f"{link.path}:{link.line}: {name} links {used} but includes none of its headers")
                continue
        else:
            if library.only_in is not None and name not in library.only_in:
                problems.append(f"{link.path}:{link.line}: {name} links {link.what}, but {library.name} is only for "
                                f"{', '.join(sorted(library.only_in))} ({DOC})")
                continue
            if library.header_prefixes and used not in module.library_includes:
                problems.append(f"{link.path}:{link.line}: {name} links {link.what} but includes none of its headers")
                continue
            if not library.header_prefixes:
                continue  # nothing to tell PUBLIC from PRIVATE by
        if is_executable:
            continue
        exposing = [use for use in (module.includes.get(used, []) + module.library_includes.get(used, []))
                    if use.path.removeprefix("server/") in module.interface_headers]
        if link.visibility == "PUBLIC" and not exposing:
            problems.append(f"{link.path}:{link.line}: {name} links {link.what} PUBLIC, but no header of {name} that "
                            f"other modules include needs it: make it PRIVATE (PRIVATE_DEPS)")
        elif link.visibility == "PRIVATE" and exposing:
            use = exposing[0]
            problems.append(f"{link.path}:{link.line}: {name} links {link.what} PRIVATE, but {use.path}:{use.line}, a "
                            f"header other modules include, includes {use.what}: make it PUBLIC (DEPS)")
    for library in rules.libraries:
        if library.only_in is None or name in library.only_in:
            continue
        for use in module.library_includes.get(library.name, []):
            problems.append(f"{use.path}:{use.line}: {name} includes <{use.what}>, but {library.name} is only for "
                            f"{', '.join(sorted(library.only_in))} ({DOC})")
        for use in module.calls.get(library.name, []):
            problems.append(f"{use.path}:{use.line}: {name} calls {use.what}, but {library.name} is only for "
                            f"{', '.join(sorted(library.only_in))} ({DOC})")


def check(root: Path) -> tuple[list[str], str]:
    rules = read_rules(root)
    problems: list[str] = []
    cycle = cycle_in(rules.may_use)
    if cycle:
        problems.append(f"{DOC}:{rules.table_line}: the may-use table has a cycle: {' -> '.join(cycle)}")
    if rules.diagram is None:
        problems.append(f"{DOC}: no diagram after a line naming `{DIAGRAM_MARKER}`")
    elif rules.diagram != diagram(rules.may_use):
        problems.append(f"{DOC}:{rules.diagram_line}: the diagram differs from the may-use table; "
                        f"redraw it with tests/deps/check_deps.py --write-diagram")
    check_folders(root, rules, problems)
    modules: dict[str, Module] = {name: Module(name) for name in rules.may_use}
    scan_sources(root, rules, modules, problems)
    link_count = scan_cmake(root, rules, modules, problems)
    for module in modules.values():
        check_module(rules, module, problems)

    files = sum(len(m.files) for m in modules.values())
    includes = sum(len(u) for m in modules.values() for u in list(m.includes.values()) + list(m.library_includes.values()))
    if files == 0:
        raise RulesError(f"no source files under {root / 'server'}: nothing was checked")
    summary = (f"{len(modules)} modules, {files} files, {includes} includes across modules or of third-party "
               f"libraries and {link_count} links checked against {DOC}")
    return problems, summary


def write_diagram(root: Path) -> None:
    rules = read_rules(root)
    if rules.diagram is None:
        raise RulesError(f"{DOC}: no diagram after a line naming `{DIAGRAM_MARKER}` to replace")
    path = root / DOC
    lines = path.read_text(encoding="utf-8").splitlines()
    start = rules.diagram_line
    lines[start : start + len(rules.diagram)] = diagram(rules.may_use)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def sort_key(problem: str):
    path, _, rest = problem.partition(":")
    line = rest.partition(":")[0]
    return (path, int(line) if line.isdigit() else 0, problem)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", nargs="?", default=str(Path(__file__).resolve().parents[2]))
    parser.add_argument("--diagram", action="store_true", help="print the diagram generated from the table")
    parser.add_argument("--write-diagram", action="store_true", help="replace the diagram in the document")
    arguments = parser.parse_args()
    root = Path(arguments.root).resolve()
    try:
        if arguments.diagram:
            print("\n".join(diagram(read_rules(root).may_use)))
            return 0
        if arguments.write_diagram:
            write_diagram(root)
            return 0
        problems, summary = check(root)
    except RulesError as error:
        print(f"check_deps: {error}")
        return 2
    for problem in sorted(set(problems), key=sort_key):
        print(problem)
    if problems:
        count = len(set(problems))
        print(f"check_deps: {count} violation{'s' if count != 1 else ''} of the dependency rules ({summary})")
        return 1
    print(f"check_deps: ok: {summary}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
