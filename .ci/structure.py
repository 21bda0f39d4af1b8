"""Structure checks run by .ci/run (issue 11's rules, kept from regressing):
- no import circle between the top-level modules of a crate (`crate::X` paths outside tests
  and comments; a child module's `super::` is not a circle);
- no Rust source file over 800 lines.
Exits non-zero and says where when a rule is broken."""
import os, re, sys
def crate_graph(src):
    g = {}
    for root, _, files in os.walk(src):
        for f in files:
            if not f.endswith('.rs'): continue
            path = os.path.join(root, f)
            rel = os.path.relpath(path, src).split(os.sep)
            top = rel[0][:-3] if len(rel) == 1 else rel[0]
            if top in ('lib', 'main'): continue
            text = open(path).read()
            text = text.split('#[cfg(test)]')[0]
            text = '\n'.join(l for l in text.splitlines() if not l.lstrip().startswith('//'))
            refs = set(re.findall(r'crate::(\w+)', text))
            # `use crate::{a, b::c}` groups
            for m in re.finditer(r'crate::\{', text):
                depth, j, items, cur = 1, m.end(), [], ''
                while depth and j < len(text):
                    ch = text[j]
                    if ch == '{': depth += 1
                    elif ch == '}': depth -= 1
                    if depth == 1 and ch == ',': items.append(cur); cur = ''
                    elif depth >= 1: cur += ch
                    j += 1
                items.append(cur)
                for it in items:
                    w = re.match(r'\s*(\w+)', it)
                    if w: refs.add(w.group(1))
            g.setdefault(top, set()).update(r for r in refs if r != top)
    return g
def sccs(g):
    idx, low, st, on, out, i = {}, {}, [], set(), [], [0]
    sys.setrecursionlimit(10000)
    def visit(v):
        idx[v] = low[v] = i[0]; i[0] += 1; st.append(v); on.add(v)
        for w in g.get(v, ()):
            if w not in g: continue
            if w not in idx: visit(w); low[v] = min(low[v], low[w])
            elif w in on: low[v] = min(low[v], idx[w])
        if low[v] == idx[v]:
            comp = []
            while True:
                w = st.pop(); on.discard(w); comp.append(w)
                if w == v: break
            if len(comp) > 1: out.append(comp)
    for v in list(g):
        if v not in idx: visit(v)
    return out
MAX_LINES = 800


def long_files(crate):
    for root, _, files in os.walk(crate):
        if '/target' in root or '/snapshots' in root:
            continue
        for f in files:
            if f.endswith('.rs'):
                path = os.path.join(root, f)
                n = sum(1 for _ in open(path))
                if n > MAX_LINES:
                    yield path, n


def main(crates):
    failed = False
    for crate in crates:
        for comp in sccs(crate_graph(os.path.join(crate, 'src'))):
            print(f"{crate}: modules import each other in a circle: {' -> '.join(sorted(comp))}")
            failed = True
        for path, n in long_files(crate):
            print(f"{path}: {n} lines (at most {MAX_LINES})")
            failed = True
    print("structure: " + ("FAILED" if failed else "ok"))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
