#!/usr/bin/env bash
# The documentation check (ctest `unit_docs`, label unit): every reference in the project's docs
# and comments resolves inside the repository. It fails, listing each problem as
# FILE:LINE: what, when
#   - a `Note [Name]` is referenced but no comment line starts with `Note [Name]` (the
#     definition), or `Note [Name] in FILE` names a file that does not define it;
#   - a relative link or image in a markdown file points at a missing file, or at a
#     missing #anchor of a markdown file;
#   - a repository path (`runtime/engine/bucket_reducer.h`, `launch/scripts/quickstart.sh`,
#     globs like `tests/*/growth_mpi_test.cpp`) written in a README, comment, script,
#     config or CMake file does not exist (paths are tried from the top of the tree, then
#     from the file's own folder), or a `growth/README.md "Section"` pointer names a
#     heading that README does not have;
#   - any file names a document or folder outside the repository (the patterns below);
#   - the top-level README.md is longer than 320 lines.
#   tests/docs_test.sh        (SPROUT_SOURCE_DIR: the tree to check; default: this checkout)
set -euo pipefail
ROOT=${SPROUT_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
exec /usr/bin/python3 - "$ROOT" <<'PYEOF'
import glob, os, re, sys

root = os.path.abspath(sys.argv[1])
SELF = os.path.join("tests", "docs_test.sh")
TOP = ("runtime", "growth", "merge", "data", "launch", "tests", "cluster")
SKIP_DIRS = {".git", ".gpu-deps", "runs", "__pycache__", "seeds"}
TEXT_EXT = (".md", ".h", ".cpp", ".sh", ".py", ".ini", ".sbatch", ".txt", ".cmake", ".example", ".supp")
# Outside the repository: spelled in pieces so that this file does not match itself.
FORBIDDEN = ["../" + "shared", "/" + "work/", "METHODS" + ".md", "DESIGN" + ".md"]
README_MAX_LINES = 320
problems = []

def report(path, line, what):
    problems.append(f"{path}:{line}: {what}")

def files():
    for d, dirs, names in os.walk(root):
        rel_d = os.path.relpath(d, root)
        dirs[:] = sorted(x for x in dirs if x not in SKIP_DIRS and not x.startswith("build")
                         and not (rel_d == "." and x.startswith(".") and x != ".ci"))
        for n in sorted(names):
            rel = os.path.normpath(os.path.join(rel_d, n))
            if n.endswith(TEXT_EXT) or n in ("CMakeLists.txt", ".gitignore") or rel.startswith(".ci"):
                try:
                    yield rel, open(os.path.join(root, rel), encoding="utf-8").read()
                except UnicodeDecodeError:
                    pass

def line_of(text, pos):
    return text.count("\n", 0, pos) + 1

def joined_comments(rel, text):
    """Comment continuation lines joined (`//`, `#`), so a reference wrapped over two lines is one."""
    if rel.endswith((".h", ".cpp")):
        return re.sub(r"\n[ \t]*//[ \t]?", lambda m: " " + "\0" * (len(m.group(0)) - 1), text)
    if rel.endswith((".sh", ".py", ".ini", ".sbatch", ".txt", ".cmake")):
        return re.sub(r"\n[ \t]*#[ \t]?", lambda m: " " + "\0" * (len(m.group(0)) - 1), text)
    return text  # same length: positions still give line numbers

def slug(heading):
    s = heading.strip().lower().replace("`", "")
    s = re.sub(r"[^\w\- ]", "", s)
    return s.replace(" ", "-")

def headings(text):
    """Markdown headings outside code fences, as (title, anchor) with GitHub's duplicate suffixes."""
    out, seen, fence = [], {}, False
    for ln in text.splitlines():
        if ln.lstrip().startswith("```"):
            fence = not fence
            continue
        m = None if fence else re.match(r"#{1,6}\s+(.*?)\s*#*\s*$", ln)
        if m:
            title = m.group(1).replace("`", "")
            a = slug(m.group(1))
            n = seen.get(a, 0)
            seen[a] = n + 1
            out.append((title, a if n == 0 else f"{a}-{n}"))
    return out

corpus = dict(files())

# 1. Outside references.
for rel, text in corpus.items():
    if rel == SELF:
        continue
    for pat in FORBIDDEN:
        for m in re.finditer(re.escape(pat), text):
            report(rel, line_of(text, m.start()), f"mentions '{pat}', which is outside the repository")

# 2. Notes: definitions and references.
defined = {}
for rel, text in corpus.items():
    for i, ln in enumerate(text.splitlines(), 1):
        m = re.match(r"\s*(?://|#)\s*Note \[([^\]]+)\]\s*(?::|$)", ln)
        if m:
            defined.setdefault(" ".join(m.group(1).split()), set()).add(rel)
for rel, text in corpus.items():
    if rel == SELF:
        continue
    j = joined_comments(rel, text)
    for m in re.finditer(r"Note\s+\[([^\]]+)\](\s+in\s+([\w./-]+\.(?:h|cpp|md)))?", j):
        name = " ".join(m.group(1).replace("\0", "").split())
        where = line_of(text, m.start())
        if name not in defined:
            report(rel, where, f"Note [{name}] is referenced but never defined (a comment line starting 'Note [{name}]')")
        elif m.group(3):
            target = m.group(3).rstrip(".")
            hits = [d for d in defined[name] if d == os.path.normpath(target) or
                    ("/" not in target and os.path.basename(d) == target)]
            if not hits:
                report(rel, where, f"Note [{name}] is said to be in {target}, but it is defined in "
                                   + ", ".join(sorted(defined[name])))

# 3. Markdown links and images.
md_anchors = {rel: {a for _, a in headings(t)} for rel, t in corpus.items() if rel.endswith(".md")}
for rel, text in corpus.items():
    if not rel.endswith(".md"):
        continue
    for m in re.finditer(r"!?\[[^\]]*\]\(([^)\s]+)\)", text):
        target = m.group(1)
        if re.match(r"[a-z]+:", target):
            continue
        path, _, anchor = target.partition("#")
        dest = os.path.normpath(os.path.join(os.path.dirname(rel), path)) if path else rel
        where = line_of(text, m.start())
        if not os.path.exists(os.path.join(root, dest)):
            report(rel, where, f"link to '{target}': {dest} does not exist")
        elif anchor and dest.endswith(".md") and anchor not in md_anchors.get(dest, set()):
            report(rel, where, f"link to '{target}': {dest} has no heading with anchor #{anchor}")

# 4. Repository paths and README section pointers.
path_re = re.compile(r"(?:(?<![\w./~$@:-])|(?<=\$ROOT/)|(?<=SOURCE_DIR/))((?:%s)/[\w.*/+-]*)" % "|".join(TOP))
for rel, text in corpus.items():
    if rel == SELF:
        continue
    j = joined_comments(rel, text)
    for m in path_re.finditer(j):
        p = m.group(1).rstrip(".")
        if "+" in p or p.endswith("-"):
            continue  # not a path: "growth/+64"-style values
        if j[m.end():m.end() + 1] in ("{", "<"):
            p += "*"  # launch/results/growth.{md,png}, tests/<folder>/...: the prefix must exist
        here = os.path.dirname(rel)
        ok = False
        for base in ("", here):
            cand = os.path.join(root, base, p)
            if "*" in p:
                ok = bool(glob.glob(cand, recursive=True))
            else:
                ok = os.path.isdir(cand) if p.endswith("/") else os.path.exists(cand)
            if ok:
                break
        if not ok:
            report(rel, line_of(text, m.start()), f"path '{p}' does not exist")
    for m in re.finditer(r"((?:%s)/README\.md),? \"([^\"]+)\"" % "|".join(TOP), j):
        readme, title = m.group(1), " ".join(m.group(2).replace("\0", "").split())
        titles = {t for t, _ in headings(corpus.get(readme, ""))}
        if title not in titles:
            report(rel, line_of(text, m.start()), f"{readme} has no section \"{title}\"")

# 5. The top-level README stays short.
n = corpus.get("README.md", "").count("\n")
if n > README_MAX_LINES:
    report("README.md", n, f"{n} lines; at most {README_MAX_LINES} (the rest belongs in the folder READMEs)")

print(f"docs_test: {len(corpus)} files, {len(defined)} notes defined")
if problems:
    print("\n".join(problems))
    print(f"docs_test: {len(problems)} problem(s)")
    sys.exit(1)
print("docs_test: every reference resolves")
PYEOF
