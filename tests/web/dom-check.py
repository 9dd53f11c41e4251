#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""dom-check.py -- questions about an HTML document (a page as served, or
the DOM Chromium dumped after parsing it), for tests/web/run-tier.sh.

  dom-check.py FILE count SELECTOR   number of elements matching SELECTOR
  dom-check.py FILE attrsum SELECTOR ATTR   sum of an integer attribute
  dom-check.py FILE attr SELECTOR ATTR      the attribute of each match
  dom-check.py FILE hrefs SELECTOR   the href of each match, one a line
  dom-check.py FILE text SELECTOR    the text of each match, one a line
  dom-check.py FILE unsafe           script elements, on* attributes,
                                     img/iframe/object/embed elements and
                                     javascript: URLs, one a line

SELECTOR is one or more steps separated by spaces (descendants), each
TAG, TAG.CLASS, TAG#ID, .CLASS or #ID (TAG may be *).  Only the standard
library is used: html.parser decodes character references in text and
attribute values, so the text printed is what a reader sees.
"""
import signal
import sys
from html.parser import HTMLParser

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link",
        "meta", "param", "source", "track", "wbr"}


class Node:
    def __init__(self, tag, attrs, parent):
        self.tag, self.attrs, self.parent = tag, dict(attrs), parent
        self.children = []
        self.parts = []   # text and child nodes, in document order

    def classes(self):
        return (self.attrs.get("class") or "").split()


class Tree(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = Node("#root", [], None)
        self.cur = self.root
        self.nodes = []

    def handle_starttag(self, tag, attrs):
        n = Node(tag, attrs, self.cur)
        self.cur.children.append(n)
        self.cur.parts.append(n)
        self.nodes.append(n)
        if tag not in VOID:
            self.cur = n

    def handle_startendtag(self, tag, attrs):
        n = Node(tag, attrs, self.cur)
        self.cur.children.append(n)
        self.cur.parts.append(n)
        self.nodes.append(n)

    def handle_endtag(self, tag):
        n = self.cur
        while n is not self.root and n.tag != tag:
            n = n.parent
        if n is not self.root:
            self.cur = n.parent

    def handle_data(self, data):
        self.cur.parts.append(data)


def text_of(n):
    """The text of @n and its descendants, in document order."""
    return "".join(p if isinstance(p, str) else text_of(p) for p in n.parts)


def step_match(n, step):
    tag, cls, ident = step, None, None
    if "#" in tag:
        tag, ident = tag.split("#", 1)
    if "." in tag:
        tag, cls = tag.split(".", 1)
    if tag and tag != "*" and n.tag != tag:
        return False
    if cls and cls not in n.classes():
        return False
    if ident and n.attrs.get("id") != ident:
        return False
    return True


def select(nodes, selector):
    steps = selector.split()
    res = []
    for n in nodes:
        if not step_match(n, steps[-1]):
            continue
        i, p = len(steps) - 2, n.parent
        while i >= 0 and p is not None:
            if step_match(p, steps[i]):
                i -= 1
            p = p.parent
        if i < 0:
            res.append(n)
    return res


def main():
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)   # quiet under | head
    path, cmd = sys.argv[1], sys.argv[2]
    t = Tree()
    with open(path, encoding="utf-8", errors="replace") as f:
        t.feed(f.read())
    t.close()
    if cmd == "count":
        print(len(select(t.nodes, sys.argv[3])))
    elif cmd == "attrsum":
        print(sum(int(n.attrs.get(sys.argv[4]) or 0) for n in select(t.nodes, sys.argv[3])))
    elif cmd == "attr":
        for n in select(t.nodes, sys.argv[3]):
            print(n.attrs.get(sys.argv[4]) or "")
    elif cmd == "hrefs":
        for n in select(t.nodes, sys.argv[3]):
            print(n.attrs.get("href", ""))
    elif cmd == "text":
        for n in select(t.nodes, sys.argv[3]):
            print(text_of(n).replace("\n", " "))
    elif cmd == "unsafe":
        for n in t.nodes:
            if n.tag in ("script", "img", "iframe", "object", "embed"):
                print("element <%s>" % n.tag)
            for k, v in n.attrs.items():
                if k.lower().startswith("on"):
                    print("attribute %s on <%s>" % (k, n.tag))
                if (v or "").strip().lower().startswith("javascript:"):
                    print("javascript: URL in %s on <%s>" % (k, n.tag))
    else:
        sys.exit("dom-check.py: unknown command " + cmd)


if __name__ == "__main__":
    main()
